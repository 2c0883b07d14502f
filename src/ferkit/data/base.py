"""The in-memory form every dataset reader produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class ArrayDataset:
    """Face crops with labels.

    images: uint8 array (N, H, W) grey or (N, H, W, 3) RGB, possibly a read-only memory map.
    targets: int64 (N,) class indices, or float32 (N, C) soft targets (rows sum to 1).
    labels: canonical label names, the meaning of target indices.
    extra: per-sample side information (e.g. ``hard`` majority labels, ``subject`` ids, ``row`` indices).
    """

    images: np.ndarray
    targets: np.ndarray
    labels: tuple[str, ...]
    name: str
    split: str
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.images.ndim != 3 and not (self.images.ndim == 4 and self.images.shape[3] == 3):
            raise ValueError(f"images must be (N, H, W) or (N, H, W, 3), got {self.images.shape}")
        if len(self.images) != len(self.targets):
            raise ValueError(f"{len(self.images)} images but {len(self.targets)} targets")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def soft(self) -> bool:
        return self.targets.ndim == 2

    @property
    def hard_labels(self) -> np.ndarray:
        """Integer labels: the targets themselves, or the argmax of soft targets (or extra['hard'])."""
        if not self.soft:
            return self.targets
        if "hard" in self.extra:
            return self.extra["hard"]
        return self.targets.argmax(1)

    def subset(self, index: np.ndarray) -> ArrayDataset:
        index = np.asarray(index)
        return ArrayDataset(
            images=self.images[index],
            targets=self.targets[index],
            labels=self.labels,
            name=self.name,
            split=self.split,
            extra={k: v[index] for k, v in self.extra.items()},
            info=dict(self.info),
        )

    def class_counts(self) -> np.ndarray:
        hard = self.hard_labels
        return np.bincount(hard[hard >= 0], minlength=len(self.labels))
