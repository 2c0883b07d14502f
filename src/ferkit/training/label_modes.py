"""What ``data.mode`` means for training: which targets a dataset gives, which loss trains them, which labels
validation scores, and the per-epoch label draw of probabilistic label drawing (PLD).

FERPlus applies the modes to its raw votes (``ferkit.data.ferplus``); any other dataset whose targets are
probability rows (soft labels) gets ``crossentropy``, ``multi_target`` and ``draw`` applied to those rows here,
with the same rules (``ferkit.data.vote_modes``) and no reject categories.
"""

from __future__ import annotations

import numpy as np

from ferkit.data.base import ArrayDataset
from ferkit.data.vote_modes import process_rows
from ferkit.errors import ConfigError

DISTRIBUTION_MODES = ("crossentropy", "multi_target", "draw")  # modes any probability-labelled dataset supports
DRAW_STREAM = 104729  # key of the label-draw generator, beside the run's seed and the epoch


def validation_mode(mode: str | None) -> str:
    """FERPlus label mode of the validation split: the majority protocol for the paper's schemes ML and PLD
    (their training targets are no test labels); the other modes keep validating as they always did."""
    return "majority" if mode in ("multi_target", "draw") else (mode or "majority")


def apply_mode(ds: ArrayDataset, mode: str | None) -> ArrayDataset:
    """A non-FERPlus dataset under ``mode``: probability rows turned into the mode's targets, dropped rows
    removed; unchanged when ``mode`` is None or ``majority`` (hard labels as they are)."""
    if mode in (None, "majority") or ds.name == "ferplus":
        return ds
    if mode not in DISTRIBUTION_MODES:
        raise ConfigError(
            f"data.mode={mode!r} is not valid for {ds.name!r}; choose from majority, {', '.join(DISTRIBUTION_MODES)}"
        )
    if not ds.soft:
        raise ConfigError(
            f"data.mode={mode} needs vote or probability labels, but {ds.name!r} {ds.split} has "
            "one hard label per image"
        )
    targets, keep = process_rows(np.asarray(ds.targets, np.float64), len(ds.labels), mode)
    hard = np.where(keep, np.asarray(ds.targets).argmax(1), -1)
    kept = ds.subset(np.flatnonzero(keep))
    extra = dict(kept.extra, hard=hard[keep])
    return ArrayDataset(
        images=kept.images,
        targets=targets[keep],
        labels=ds.labels,
        name=ds.name,
        split=ds.split,
        extra=extra,
        info=dict(ds.info, mode=mode),
    )


def loss_name(data_mode: str | None, configured: str) -> str:
    """The loss a run trains with: ``multi_target`` for the ML mode (replacing the default cross_entropy),
    ``configured`` otherwise."""
    if data_mode != "multi_target":
        if configured == "multi_target":
            raise ConfigError(
                "loss.name=multi_target needs data.mode=multi_target (targets marking the accepted emotions)"
            )
        return configured
    if configured not in ("cross_entropy", "multi_target"):
        raise ConfigError(
            f"data.mode=multi_target trains with its own loss (-log max_k t_k p_k); "
            f"loss.name={configured!r} cannot be combined with it (leave loss.name at cross_entropy)"
        )
    return "multi_target"


def draw_labels(distributions: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """PLD: one class per row drawn from its distribution, a pure function of (seed, epoch) so a resumed run
    draws the same labels. Rows without mass (samples masked out of the main loss) get class 0."""
    p = np.asarray(distributions, np.float64)
    mass = p.sum(1, keepdims=True)
    cdf = np.cumsum(np.where(mass > 0, p / np.where(mass > 0, mass, 1.0), 0.0), axis=1)
    u = np.random.default_rng([seed, DRAW_STREAM, epoch]).random(len(p))
    labels = (u[:, None] >= cdf).sum(1)  # inverse CDF; the float tail past the last class stays in it
    labels = np.minimum(labels, p.shape[1] - 1)
    return np.where(mass[:, 0] > 0, labels, 0).astype(np.int64)
