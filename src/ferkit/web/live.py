"""Live frames (WebSocket): one recogniser stream per connection over the shared recogniser, so live, video
and CLI results come from the same public ``EmotionRecognizer.stream()``; and the slots that bound how many
sessions are open, in all and per client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ferkit.inference.results import FaceResult
from ferkit.web.limits import Limits


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


class LiveSlots:
    """Open live sessions: at most ``limits.max_live`` in all and ``limits.max_live_per_client`` per client
    address. Used from the event loop only (no lock needed)."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.open = 0
        self.per_client: dict[str, int] = {}

    def busy(self, client: str) -> str | None:
        """Why ``client`` may not open another session now, or None."""
        if self.open >= self.limits.max_live:
            return f"{self.limits.max_live} live sessions are open already; try again later"
        if self.per_client.get(client, 0) >= self.limits.max_live_per_client:
            return (
                f"this client has {self.limits.max_live_per_client} live sessions open already (the limit per client)"
            )
        return None

    @contextmanager
    def held(self, client: str) -> Iterator[None]:
        """One slot of ``client`` for the duration of the block (freed however the block ends)."""
        self.open += 1
        self.per_client[client] = self.per_client.get(client, 0) + 1
        try:
            yield
        finally:
            self.open -= 1
            self.per_client[client] -= 1
            if not self.per_client[client]:
                del self.per_client[client]
