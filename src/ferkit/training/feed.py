"""Batches from in-memory uint8 arrays: seeded per-epoch order, optional class balancing, DDP sharding."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import torch


def epoch_order(n: int, epoch: int, seed: int, weights: np.ndarray | None = None, rank: int = 0,
                world: int = 1) -> np.ndarray:
    """Sample order for one epoch, a pure function of (seed, epoch) so a resumed run sees the same order."""
    rng = np.random.default_rng([seed, epoch])
    if weights is None:
        order = rng.permutation(n)
    else:
        order = rng.choice(n, size=n, replace=True, p=weights / weights.sum())
    usable = len(order) - len(order) % world
    return order[:usable][rank::world]


def balanced_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-sample weights giving each class equal expected frequency (labels < 0 get weight 0)."""
    counts = np.bincount(labels[labels >= 0], minlength=num_classes).astype(np.float64)
    w = np.zeros(len(labels))
    valid = labels >= 0
    w[valid] = 1.0 / np.maximum(counts[labels[valid]], 1)
    return w


def batches(order: np.ndarray, batch_size: int, drop_last: bool = True) -> Iterator[np.ndarray]:
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        chunk = order[start:start + batch_size]
        if len(chunk):
            yield np.sort(chunk)  # sorted gathers are faster on memory maps; order within a batch is irrelevant


def to_float(images: np.ndarray) -> torch.Tensor:
    """uint8 (B,H,W) -> float (B,1,H,W) in [0,1]."""
    return torch.from_numpy(np.ascontiguousarray(images)).float().div_(255.0).unsqueeze(1)
