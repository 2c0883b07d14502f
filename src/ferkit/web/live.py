"""Live frames (WebSocket): per-connection tracking and temporal smoothing over the shared recogniser.

Thin adapter: EmotionRecognizer has no public call for "one more frame of a stream" yet, so this keeps the
tracker and smoother per connection and calls the recogniser's own per-frame step, the one predict_video uses,
so live and video results come from the same code."""
from __future__ import annotations

import numpy as np

from ferkit.faces.tracking import IoUTracker
from ferkit.inference.results import FaceResult
from ferkit.inference.smoothing import TemporalSmoother


class LiveSession:
    """State of one live stream: face tracks and their smoothed probabilities."""

    def __init__(self, recognizer):
        self.recognizer = recognizer
        self.reset()

    def reset(self) -> None:
        self.tracker = IoUTracker()
        self.smoother = TemporalSmoother(**self.recognizer.smoothing)
        self.frames = 0

    def step(self, rgb: np.ndarray) -> list[FaceResult]:
        """One RGB frame -> its faces, with track ids and per-track smoothed probabilities."""
        self.frames += 1
        return self.recognizer._video_frame(rgb, self.tracker, self.smoother)
