"""The FERPlus paper's training targets, row by row, as its code release defines them.

Barsoum et al. (ICMI 2016) train with four schemes; the code release (microsoft/FERPlus, ``src/ferplus.py``
``_process_data`` and ``load_folders``) fixes their rules. A row is a vector of vote counts (or probabilities)
over C categories whose first ``n_emotions`` are emotions; the rest (FERPlus: unknown, not-a-face) are
"reject" categories that count in every total but are never trained on. Single votes are removed first by the
caller (``ferplus.remove_outlier_votes``); probability rows skip that step.

- majority (MV): the category with more than half of all votes; the row is dropped otherwise.
- crossentropy (CEL, and the distribution PLD draws from): the strongest categories, taken greedily (all
  categories tied at the current maximum at once), until they hold 75% of the votes or 3 were taken; a reject
  category reached after an emotion is discarded and ends the search. Dropped when the kept emotions hold 50%
  of the votes or less, or more than 3 categories were taken (ties).
- multi_target (ML): every category with at least 30% of the votes; dropped when those hold 50% or less.

Every mode then drops a row whose strongest kept category is a reject category (the first maximum wins a tie,
so an emotion tied with unknown or not-a-face is kept). The surviving emotions, renormalised, are the target.
"""

from __future__ import annotations

import numpy as np

CEL_SHARE = 0.75  # crossentropy: take categories until they hold this share of the votes
CEL_MAX_CATEGORIES = 3  # ... or this many were taken
ACCEPT_SHARE = 0.3  # multi_target: a category with at least this share of the votes is accepted
KEEP_SHARE = 0.5  # crossentropy / multi_target: drop rows whose kept categories hold this share or less
MULTI_TARGET_EPSILON = 1e-3  # multi_target: the target of emotions not accepted (the release's epsilon)


def crossentropy_row(votes: np.ndarray, n_emotions: int) -> np.ndarray | None:
    """The votes kept by the CEL rule (same length as ``votes``, others 0), or None when the row is dropped."""
    remaining = np.asarray(votes, np.float64).copy()
    total = remaining.sum()
    kept = np.zeros_like(remaining)
    taken, reached_reject = 0, False
    while kept.sum() < CEL_SHARE * total and taken < CEL_MAX_CATEGORIES and not reached_reject:
        top = remaining.max()
        for i in np.flatnonzero(remaining == top):  # every category tied at the maximum, in column order
            kept[i], remaining[i] = top, 0.0
            taken += 1
            if i >= n_emotions:  # unknown / not-a-face: the search ends here
                reached_reject = True
                if kept.sum() > top:  # emotions were taken before it: the reject category is not kept
                    kept[i] = 0.0
                    taken -= 1
                break
    if kept.sum() <= KEEP_SHARE * total or taken > CEL_MAX_CATEGORIES:
        return None
    return _unless_reject_leads(kept, n_emotions)


def multi_target_row(votes: np.ndarray, n_emotions: int) -> np.ndarray | None:
    """The votes of the categories accepted by the ML rule (others 0), or None when the row is dropped."""
    v = np.asarray(votes, np.float64)
    total = v.sum()
    kept = np.where(v >= ACCEPT_SHARE * total, v, 0.0)
    if total <= 0 or kept.sum() <= KEEP_SHARE * total:
        return None
    return _unless_reject_leads(kept, n_emotions)


def _unless_reject_leads(kept: np.ndarray, n_emotions: int) -> np.ndarray | None:
    return kept if int(np.argmax(kept)) < n_emotions else None


def process_rows(votes: np.ndarray, n_emotions: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``crossentropy`` (also PLD's distribution, mode ``draw``) or ``multi_target`` to every row.

    Returns (targets float32 (N, n_emotions), keep bool (N,)). crossentropy/draw targets are the kept emotions
    normalised to sum 1; multi_target targets are 1 for accepted emotions and ``MULTI_TARGET_EPSILON`` for the
    others (the release's ``(1 - eps) * [t > 0] + eps``). Dropped rows have all-zero targets.
    """
    rule = {"crossentropy": crossentropy_row, "draw": crossentropy_row, "multi_target": multi_target_row}[mode]
    targets = np.zeros((len(votes), n_emotions), np.float32)
    keep = np.zeros(len(votes), bool)
    for i, row in enumerate(np.asarray(votes)):
        kept = rule(row, n_emotions)
        if kept is None:
            continue
        emotions = kept[:n_emotions]
        keep[i] = True
        if mode == "multi_target":
            targets[i] = np.where(emotions > 0, 1.0, MULTI_TARGET_EPSILON)
        else:
            targets[i] = emotions / emotions.sum()
    return targets, keep


def accepted_emotions(votes: np.ndarray, n_emotions: int) -> np.ndarray:
    """(N, n_emotions) bool: the emotions holding at least 30% of each row's votes (all categories counted)."""
    v = np.asarray(votes, np.float64)
    total = v.sum(1, keepdims=True)
    return (v[:, :n_emotions] >= ACCEPT_SHARE * total) & (total > 0)
