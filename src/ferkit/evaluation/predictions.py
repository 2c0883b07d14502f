"""Per-item predictions as a CSV file (``id,group,label,predicted,confidence,correct``): what ``ferkit evaluate
--predictions`` and ``benchmarks/bench_realphotos.py --predictions`` write and ``ferkit compare`` pairs up.

``id`` names the item the same way for every model scored on the same data (a FER2013 CSV row, a file path under
the dataset folder), so two files can be matched item by item; ``group`` names items that are not independent
(the frames of one CK+ sequence), and is the id itself where every item stands alone.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferkit.errors import ConfigError
from ferkit.io_utils import open_output

COLUMNS = ("id", "group", "label", "predicted", "confidence", "correct")


@dataclass
class Predictions:
    ids: list[str]
    groups: list[str]
    labels: list[str]
    predicted: list[str]  # "" where the model gave no answer (no face found)
    correct: np.ndarray  # bool


def sequence_group(subject: str, sequence: int) -> str:
    """The group of one CK+ sequence's frames: ``S010_004``, as in its file names."""
    return f"{subject}_{int(sequence):03d}"


def dataset_item_keys(dataset) -> tuple[list[str], list[str]]:
    """(id, group) of every item of an ArrayDataset: its file (image-folder datasets) or CSV row (FER2013 and
    FERPlus), else its position; CK+ frames are grouped by subject and sequence."""
    extra = dataset.extra
    if "file" in extra:
        ids = [str(f) for f in extra["file"]]
    elif "row" in extra:
        ids = [str(int(r)) for r in extra["row"]]
    else:
        ids = [str(i) for i in range(len(dataset))]
    if "subject" in extra and "sequence" in extra:
        groups = [sequence_group(s, q) for s, q in zip(extra["subject"], extra["sequence"])]
    else:
        groups = list(ids)
    return ids, groups


def photo_set_file_name(set_name: str, model: str, detector: str) -> str:
    """The file name ``bench_realphotos.py --predictions`` gives a set / model / detector (a model file is named by
    its path without the suffix, so two runs' ``best.pt`` stay apart)."""

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")

    model_name = str(Path(model).with_suffix("")) if Path(model).suffix in (".pt", ".onnx") else model
    return f"{slug(set_name)}__{slug(model_name)}__{slug(detector)}.csv"


def write_predictions(path: str | os.PathLike, ids, groups, labels, predicted, confidence) -> None:
    """One row per item, atomically (``-``: standard output)."""
    with open_output(path, newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for i, g, y, p, c in zip(ids, groups, labels, predicted, confidence):
            out.writerow([i, g, y, p, "" if c is None else f"{float(c):.4f}", int(bool(p) and p == y)])


def read_predictions(path: str | os.PathLike) -> Predictions:
    """A predictions file; a missing file or one without the columns is a clear error."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise ConfigError(f"predictions file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ConfigError(f"cannot read predictions file {path}: {e}") from None
    need = {"id", "label", "predicted"}
    if not rows or not need <= set(rows[0]):
        raise ConfigError(
            f"{path} is not a predictions file: it needs a header with {', '.join(sorted(need))} "
            "and at least one row (write one with `ferkit evaluate --predictions FILE`)"
        )
    ids = [r["id"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{path}: item ids repeat; each item must appear once")
    return Predictions(
        ids=ids,
        groups=[r.get("group") or r["id"] for r in rows],
        labels=[r["label"] for r in rows],
        predicted=[r["predicted"] for r in rows],
        correct=np.array([r["predicted"] != "" and r["predicted"] == r["label"] for r in rows]),
    )


def pair(a: Predictions, b: Predictions, path_a="A", path_b="B") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(A correct, B correct, group) over the items both files score, in A's order. Files over different items,
    or that disagree on an item's label, are an error: the comparison would not be paired."""
    where = {i: k for k, i in enumerate(b.ids)}
    common = [k for k, i in enumerate(a.ids) if i in where]
    if not common:
        raise ConfigError(f"{path_a} and {path_b} share no item id: they score different data")
    missing = len(a.ids) - len(common), len(b.ids) - len(common)
    if any(missing):
        raise ConfigError(
            f"{path_a} and {path_b} score different items ({missing[0]} only in the first, "
            f"{missing[1]} only in the second): compare files of the same dataset split"
        )
    index_b = [where[a.ids[k]] for k in common]
    bad = [a.ids[k] for k, j in zip(common, index_b) if a.labels[k] != b.labels[j]]
    if bad:
        raise ConfigError(
            f"{path_a} and {path_b} disagree on the label of {len(bad)} item(s), e.g. {bad[0]!r}: "
            "were they scored with the same label mode?"
        )
    return a.correct[common], b.correct[index_b], [a.groups[k] for k in common]
