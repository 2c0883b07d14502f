"""Class-stratified random subsets (quick runs, tests, subset evaluation)."""

from __future__ import annotations

import numpy as np


def stratified_subset(labels: np.ndarray, size: int | None, seed: int) -> np.ndarray | None:
    """Indices of a class-stratified random subset (None = keep all)."""
    if size is None or size >= len(labels):
        return None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    # take proportionally from each class by interleaving a shuffled order sorted by class rank
    ranks = np.empty(len(labels))
    for c in np.unique(labels):
        members = order[labels[order] == c]
        ranks[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.sort(np.argsort(ranks, kind="stable")[:size])
