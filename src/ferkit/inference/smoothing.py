"""Temporal aggregation per tracked face, apart from the model (survey: frame aggregation).

* decision level: ``mean`` (window average) or ``ema`` (exponentially weighted) of per-frame probabilities;
* feature level: the same averages applied to the features before the classifier head (the recogniser then
  runs the head on the aggregate);
* ``Hysteresis`` keeps the shown label from flickering: it changes only when another label leads by a margin
  for a few consecutive frames.

State is per track id and is dropped when the tracker ends a track, so a new face starts afresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

METHODS = ("none", "mean", "ema", "feature-mean", "feature-ema")


class VectorAverager:
    """Running window mean or EMA of vectors (probabilities or features)."""

    def __init__(self, kind: str = "ema", window: int = 10, alpha: float = 0.3):
        if kind not in ("mean", "ema", "none"):
            raise ValueError(f"unknown averaging {kind!r}")
        self.kind, self.alpha = kind, alpha
        self.buffer: deque = deque(maxlen=max(1, window))
        self.state: np.ndarray | None = None

    def update(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.kind == "none":
            return x
        if self.kind == "mean":
            self.buffer.append(x)
            return np.mean(self.buffer, axis=0)
        self.state = x if self.state is None else self.alpha * x + (1 - self.alpha) * self.state
        return self.state


@dataclass
class Hysteresis:
    """Switch the shown label only when the challenger beats the current label's probability by ``margin``
    for ``patience`` consecutive frames."""

    margin: float = 0.1
    patience: int = 3
    current: int | None = None
    _challenger: int | None = None
    _count: int = 0

    def update(self, probs: np.ndarray) -> int:
        top = int(np.argmax(probs))
        if self.current is None:
            self.current = top
        elif top != self.current and probs[top] - probs[self.current] >= self.margin:
            self._count = self._count + 1 if top == self._challenger else 1
            self._challenger = top
            if self._count >= self.patience:
                self.current, self._challenger, self._count = top, None, 0
        else:
            self._challenger, self._count = None, 0
        return self.current


@dataclass
class TrackState:
    averager: VectorAverager
    hysteresis: Hysteresis | None
    frames: int = 0
    prob_sum: np.ndarray | None = None


@dataclass
class TemporalSmoother:
    """Per-track aggregation. method: one of METHODS; window (mean), alpha (ema); hysteresis margin/patience
    (margin None disables hysteresis). Also accumulates per-track summaries (mean probabilities, frames)."""

    method: str = "ema"
    window: int = 10
    alpha: float = 0.3
    margin: float | None = 0.1
    patience: int = 3
    tracks: dict[int, TrackState] = field(default_factory=dict)

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"smoothing method must be one of {METHODS}, not {self.method!r}")

    @property
    def feature_level(self) -> bool:
        return self.method.startswith("feature-")

    def _state(self, track_id: int) -> TrackState:
        if track_id not in self.tracks:
            kind = self.method.removeprefix("feature-")
            hyst = Hysteresis(self.margin, self.patience) if self.margin is not None else None
            self.tracks[track_id] = TrackState(VectorAverager(kind, self.window, self.alpha), hyst)
        return self.tracks[track_id]

    def aggregate(self, track_id: int, x: np.ndarray) -> np.ndarray:
        """Feed this frame's probabilities (decision level) or features (feature level); get the aggregate."""
        return self._state(track_id).averager.update(x)

    def decide(self, track_id: int, probs: np.ndarray) -> int:
        """Record the (aggregated) probabilities shown for this frame; return the label index to show."""
        state = self._state(track_id)
        state.frames += 1
        state.prob_sum = probs.copy() if state.prob_sum is None else state.prob_sum + probs
        return state.hysteresis.update(probs) if state.hysteresis else int(np.argmax(probs))

    def drop(self, track_ids) -> None:
        for t in track_ids:
            self.tracks.pop(t, None)
