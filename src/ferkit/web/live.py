"""Live frames (WebSocket): one recogniser stream per connection over the shared recogniser, so live, video
and CLI results come from the same public ``EmotionRecognizer.stream()``."""
from __future__ import annotations

import numpy as np

from ferkit.inference.results import FaceResult


class LiveSession:
    """State of one live stream: face tracks and their smoothed probabilities."""

    def __init__(self, recognizer, detector=None):
        self.stream = recognizer.stream(detector=detector)
        self.frames = 0

    def reset(self) -> None:
        self.stream.reset()
        self.frames = 0

    def step(self, rgb: np.ndarray) -> list[FaceResult]:
        """One RGB frame -> its faces, with track ids and per-track smoothed probabilities."""
        self.frames += 1
        return self.stream.step(rgb).faces
