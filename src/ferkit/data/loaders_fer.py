"""FER2013 and FERPlus loaders on top of the decode-once cache."""

from __future__ import annotations

import os

import numpy as np

from ferkit.data import fer2013, ferplus
from ferkit.data.base import ArrayDataset
from ferkit.data.cache import cached_arrays, source_key
from ferkit.data.registry import register_dataset
from ferkit.data.splits import fer_split
from ferkit.errors import DatasetError
from ferkit.labels import FER2013_LABELS, FERPLUS_LABELS
from ferkit.settings import data_root as resolve_root


def fer2013_arrays(data_root=None, cache=None, progress: bool = True) -> dict[str, np.ndarray]:
    """All FER2013 rows (images, emotion, usage), decoded once and memory-mapped afterwards."""
    path = fer2013.find_csv(resolve_root(data_root))

    def build():
        images, emotion, usage = fer2013.read_csv(path, progress=progress)
        return {"images": images, "emotion": emotion, "usage": usage.astype("U16")}

    return cached_arrays("fer2013", source_key(path), build, cache)


def _split_rows(usage: np.ndarray, split: str, source: str) -> np.ndarray:
    usage_name = fer_split(split)
    rows = np.flatnonzero(np.asarray(usage) == usage_name)
    if rows.size == 0:
        present = sorted(set(np.asarray(usage).tolist()))
        raise DatasetError(f"{source}: split {usage_name!r} has no rows (splits present: {', '.join(present)})")
    return rows


@register_dataset("fer2013")
def load_fer2013(
    split: str, data_root: str | os.PathLike | None = None, cache=None, progress: bool = True, **unused
) -> ArrayDataset:
    _reject_unknown(unused, "fer2013")
    arrays = fer2013_arrays(data_root, cache, progress)
    rows = _split_rows(arrays["usage"], split, "fer2013")
    return ArrayDataset(
        images=np.asarray(arrays["images"][rows]),
        targets=np.asarray(arrays["emotion"][rows]),
        labels=FER2013_LABELS,
        name="fer2013",
        split=fer_split(split),
        extra={"row": rows},
    )


@register_dataset("ferplus")
def load_ferplus(
    split: str,
    data_root: str | os.PathLike | None = None,
    mode: str = "majority",
    cache=None,
    progress: bool = True,
    keep_all: bool = False,
    **unused,
) -> ArrayDataset:
    """FERPlus labels on FER2013 pixels. keep_all=True keeps dropped rows with hard label -1 (multitask)."""
    _reject_unknown(unused, "ferplus")
    root = resolve_root(data_root)
    arrays = fer2013_arrays(root, cache, progress)
    votes, usage = ferplus.read_votes(ferplus.find_csv(root))
    if len(votes) != len(arrays["usage"]):
        raise DatasetError(
            f"FERPlus has {len(votes)} rows but FER2013 has {len(arrays['usage'])}; "
            "they are joined by row position and must match"
        )
    mismatch = np.flatnonzero(usage != np.asarray(arrays["usage"]))
    if mismatch.size:
        i = int(mismatch[0])  # str(): numpy 2 scalars would print as np.str_('...')
        raise DatasetError(
            f"FERPlus row {i + 2} has Usage {str(usage[i])!r} but FER2013 row says "
            f"{str(arrays['usage'][i])!r}: the files are not aligned"
        )
    targets, keep, hard = ferplus.process_votes(votes, mode)
    rows = _split_rows(usage, split, "ferplus")
    if not keep_all:
        rows = rows[keep[rows]]
    tgt = targets[rows] if mode != "majority" else hard[rows]
    return ArrayDataset(
        images=np.asarray(arrays["images"][rows]),
        targets=tgt,
        labels=FERPLUS_LABELS,
        name="ferplus",
        split=fer_split(split),
        extra={"row": rows, "hard": hard[rows], "votes": votes[rows], "fer2013": np.asarray(arrays["emotion"][rows])},
        info={"mode": mode},
    )


def _reject_unknown(options: dict, name: str) -> None:
    if options:
        raise DatasetError(f"dataset {name!r} got unknown option(s): {', '.join(sorted(options))}")
