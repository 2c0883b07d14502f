"""FERPlus (Barsoum et al., ICMI 2016): 10 crowd votes per FER2013 image, joined by row position.

Vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
Label modes (the paper's four schemes follow its code release; rules in ``ferkit.data.vote_modes``):
- ``majority`` (MV): the emotion with more than half the (outlier-filtered) votes; others dropped.
- ``crossentropy`` (CEL): the strongest emotions up to 75% of the votes (at most 3), normalised; a soft target
  trained with cross-entropy. It is a label distribution, not the multi-label form (that is ``multi_target``).
- ``draw`` (PLD): the ``crossentropy`` distribution as stored targets; training draws one emotion from it per
  image and epoch and trains on it as a hard label.
- ``multi_target`` (ML): 1 for every emotion with at least 30% of the votes, a small epsilon for the others;
  trained with ``-log max_k t_k p_k`` (loss ``multi_target``).
- ``probability`` (ferkit's own, not the release's mode of that name): the whole outlier-filtered vote
  distribution over the 8 emotions as a soft target.
Single votes are treated as annotator noise and removed first, as in the paper's code release.
Images whose strongest vote is unknown or not-a-face are dropped in every mode.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ferkit.data import vote_modes
from ferkit.errors import DatasetError
from ferkit.labels import FERPLUS_LABELS

VOTE_COLUMNS = FERPLUS_LABELS + ("unknown", "NF")
MODES = ("majority", "probability", "crossentropy", "multi_target", "draw")
_CANDIDATES = ("ferplus/fer2013new.csv", "fer2013new.csv")


def find_csv(root: Path) -> Path:
    for rel in _CANDIDATES:
        if (root / rel).is_file():
            return root / rel
    raise DatasetError(f"FERPlus votes not found under {str(root)!r}: expected {' or '.join(_CANDIDATES)}")


def read_votes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (votes float32 (N,10), usage str array (N,)) in file order (= FER2013 row order)."""
    votes, usages = [], []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or len(header) < 12 or header[0].strip() != "Usage":
                raise DatasetError(f"{path}: expected header 'Usage,Image name,neutral,...,NF', got {header!r}")
            for line_no, row in enumerate(reader, start=2):
                if len(row) < 12:
                    raise DatasetError(f"{path}:{line_no}: expected 12 columns, got {len(row)}")
                try:
                    votes.append([float(v) for v in row[2:12]])
                except ValueError:
                    raise DatasetError(f"{path}:{line_no}: vote columns must be numbers: {row[2:12]}") from None
                usages.append(row[0].strip())
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    return np.asarray(votes, np.float32), np.asarray(usages)


def remove_outlier_votes(votes: np.ndarray) -> np.ndarray:
    """Zero the emotions that got a single vote (treated as annotator noise)."""
    cleaned = votes.copy()
    cleaned[cleaned <= 1.0] = 0.0
    return cleaned


def process_votes(votes: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn raw votes into training targets.

    Returns (targets float32 (N,8), keep bool (N,), hard int64 (N,) majority label or -1). Targets are rows
    summing to 1, except in ``multi_target`` (1 for accepted emotions, epsilon for the others).
    """
    if mode not in MODES:
        raise DatasetError(f"unknown FERPlus label mode {mode!r}; choose from {', '.join(MODES)}")
    raw = remove_outlier_votes(votes)
    total = raw.sum(1)
    n_emotions = len(FERPLUS_LABELS)
    top = raw.argmax(1)
    top_votes = raw.max(1)
    # Drop images whose strongest category is unknown or not-a-face, or with no surviving votes.
    keep = (top < n_emotions) & (total > 0)
    majority = keep & (top_votes > 0.5 * total)
    hard = np.where(majority, top, -1).astype(np.int64)
    emotions = raw[:, :n_emotions]
    if mode == "majority":
        keep = majority
        targets = np.zeros((len(raw), n_emotions), np.float32)
        targets[majority, top[majority]] = 1.0
    elif mode == "probability":
        targets = emotions / np.maximum(emotions.sum(1, keepdims=True), 1e-6)
    else:  # crossentropy, draw, multi_target: the code release's rules, row by row
        targets, keep = vote_modes.process_rows(raw, n_emotions, mode)
    # For evaluation a sample needs an unambiguous label: fall back to the top emotion where no majority.
    hard = np.where(keep & (hard < 0), emotions.argmax(1), hard)
    hard = np.where(keep, hard, -1)
    return targets.astype(np.float32), keep, hard
