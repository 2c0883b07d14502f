"""Subject-independent k-fold splits for small posed datasets (CK+, JAFFE).

A person never appears on both sides of a split: whole subjects are assigned to folds, never images.
Split names: ``all``; ``fold<k>`` = the test fold k; ``train<k>`` = every other fold.
"""

from __future__ import annotations

import re

import numpy as np

from ferkit.errors import DatasetError

_SPLIT = re.compile(r"^(fold|test|train)(\d+)$")


def assign_folds(subjects: np.ndarray, folds: int, seed: int = 0, labels: np.ndarray | None = None) -> np.ndarray:
    """Fold index (N,) for every sample; all samples of a subject share a fold.

    Subjects are shuffled with ``seed`` and placed, largest first, on the fold where they unbalance things
    least (greedy): the fold sizes, and with ``labels`` also each class's share, stay as even as subjects allow.
    Ties keep the shuffled order, so different seeds give different folds.
    """
    subjects = np.asarray(subjects)
    names, inverse = np.unique(subjects, return_inverse=True)
    if not 2 <= folds <= len(names):
        raise DatasetError(f"folds={folds} must be between 2 and the number of subjects ({len(names)})")
    labels = np.zeros(len(subjects), np.int64) if labels is None else np.asarray(labels, np.int64)
    per_subject = np.zeros((len(names), labels.max() + 1), np.float64)  # subject x class image counts
    np.add.at(per_subject, (inverse, labels), 1)
    class_total = np.maximum(per_subject.sum(0), 1)
    counts = per_subject.sum(1)
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-counts[order], kind="stable")]
    load = np.zeros((folds, per_subject.shape[1]))  # fold x class
    fold_of = np.empty(len(names), np.int64)
    for i in order:
        after = load + per_subject[i]
        # squared fold sizes (relative to the whole) plus squared per-class shares: both favour even folds
        cost = (after.sum(1) / counts.sum()) ** 2 + ((after / class_total) ** 2).sum(1)
        cost -= (load.sum(1) / counts.sum()) ** 2 + ((load / class_total) ** 2).sum(1)
        f = int(np.argmin(cost))
        fold_of[i] = f
        load[f] += per_subject[i]
    return fold_of[inverse]


def split_rows(split: str, fold: np.ndarray, folds: int, dataset: str) -> np.ndarray:
    """Row indices of a split name (``all``, ``fold3``/``test3``, ``train3``)."""
    key = split.strip().lower()
    if key == "all":
        return np.arange(len(fold))
    m = _SPLIT.match(key)
    if not m:
        raise DatasetError(
            f"{dataset}: unknown split {split!r}; use 'all', 'fold<k>' (test fold k) or "
            f"'train<k>' (the other folds), k in 0..{folds - 1}"
        )
    k = int(m.group(2))
    if k >= folds:
        raise DatasetError(f"{dataset}: split {split!r} asks for fold {k} but folds={folds} (k in 0..{folds - 1})")
    return np.flatnonzero(fold != k) if m.group(1) == "train" else np.flatnonzero(fold == k)


def split_names(folds: int) -> list[str]:
    return ["all"] + [f"fold{k}" for k in range(folds)] + [f"train{k}" for k in range(folds)]
