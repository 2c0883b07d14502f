"""Dataset statistics as pure functions: class distribution, exact duplicates, constant (e.g. all-black) images.

Duplicates are found by hashing the pixel bytes (and shape) of every image, so two images are duplicates
only when they are byte-identical; near-duplicates are out of scope here.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ferkit.data.base import ArrayDataset


def class_distribution(hard_labels: np.ndarray, labels: Sequence[str]) -> dict[str, int]:
    """Images per label name; samples labelled -1 (no usable label) are counted under ``"(none)"`` if any."""
    hard = np.asarray(hard_labels, np.int64)
    counts = np.bincount(hard[hard >= 0], minlength=len(labels))
    out = {name: int(c) for name, c in zip(labels, counts)}
    if (hard < 0).any():
        out["(none)"] = int((hard < 0).sum())
    return out


def pixel_hashes(images: np.ndarray) -> np.ndarray:
    """One 16-byte digest per image (N, H, W) of its shape and pixel bytes: equal digests = identical images."""
    out = np.empty(len(images), dtype="S16")
    for i, im in enumerate(images):
        im = np.ascontiguousarray(im)
        h = hashlib.blake2b(str(im.shape).encode(), digest_size=16)
        h.update(im.tobytes())
        out[i] = h.digest()
    return out


@dataclass(frozen=True)
class DuplicateGroup:
    members: tuple[tuple[str, int], ...]  # (split, index within split), in split order then index order

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(sorted({s for s, _ in self.members}))

    @property
    def cross_split(self) -> bool:
        return len(self.splits) > 1


def duplicate_groups(hashes: Mapping[str, np.ndarray]) -> list[DuplicateGroup]:
    """Groups of two or more byte-identical images, within and across splits (hashes from pixel_hashes)."""
    where: dict[bytes, list[tuple[str, int]]] = defaultdict(list)
    for split, digests in hashes.items():
        for i, d in enumerate(digests):
            where[bytes(d)].append((split, i))
    return [DuplicateGroup(tuple(m)) for m in where.values() if len(m) > 1]


def summarise_duplicates(groups: Sequence[DuplicateGroup], labels: Mapping[str, np.ndarray] | None = None) -> dict:
    """Counts: groups, images in them, redundant copies, groups within one split (per split), groups spanning
    splits, and (given per-split hard labels) groups whose copies disagree on the label."""
    within: dict[str, int] = defaultdict(int)
    for g in groups:
        if not g.cross_split:
            within[g.splits[0]] += 1
    out = {
        "groups": len(groups),
        "images": sum(len(g.members) for g in groups),
        "redundant_copies": sum(len(g.members) - 1 for g in groups),
        "within_split_groups": dict(within),
        "cross_split_groups": sum(g.cross_split for g in groups),
    }
    if labels is not None:
        out["label_conflict_groups"] = sum(len({int(labels[s][i]) for s, i in g.members}) > 1 for g in groups)
    return out


def constant_images(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices of constant images, indices of all-black images) of a (N, H, W) batch."""
    flat = np.asarray(images).reshape(len(images), -1)
    lo, hi = flat.min(1), flat.max(1)
    constant = lo == hi
    return np.flatnonzero(constant), np.flatnonzero(constant & (hi == 0))


def sample_id(ds: ArrayDataset, index: int) -> str:
    """A human-readable id: the source row or file if the dataset carries one, else the index."""
    for key in ("row", "file"):
        if key in ds.extra:
            return f"{key} {ds.extra[key][index]}"
    return f"index {index}"


def dataset_stats(splits: Mapping[str, ArrayDataset], examples: int | None = 5) -> dict:
    """Everything above for a dataset given as {split name: ArrayDataset}; JSON-serialisable.
    ``duplicate_groups`` lists the members of the first `examples` groups (all if None), cross-split first."""
    hashes = {s: pixel_hashes(ds.images) for s, ds in splits.items()}
    groups = duplicate_groups(hashes)
    hard = {s: ds.hard_labels for s, ds in splits.items()}
    per_split = {}
    for s, ds in splits.items():
        const, black = constant_images(ds.images)
        per_split[s] = {
            "images": len(ds),
            "classes": class_distribution(hard[s], ds.labels),
            "constant": len(const),
            "all_black": len(black),
            "constant_ids": [sample_id(ds, int(i)) for i in const],
        }
    ordered = sorted(groups, key=lambda g: (not g.cross_split, -len(g.members)))
    return {
        "splits": per_split,
        "duplicates": summarise_duplicates(groups, hard),
        "duplicate_groups": [[f"{s}: {sample_id(splits[s], i)}" for s, i in g.members] for g in ordered[:examples]],
    }


def format_stats(name: str, stats: dict, examples: int = 5) -> str:
    """Plain-text tables of dataset_stats output."""
    splits = stats["splits"]
    labels = list(dict.fromkeys(k for s in splits.values() for k in s["classes"]))
    width = max([len(n) for n in splits] + [5])
    lines = [
        f"{name}: class distribution",
        " " * width + "".join(f"{lab[:10]:>11}" for lab in labels) + f"{'total':>9}",
    ]
    for s, st in splits.items():
        lines.append(
            f"{s:<{width}}" + "".join(f"{st['classes'].get(lab, 0):>11}" for lab in labels) + f"{st['images']:>9}"
        )
    lines += ["", f"{'split':<{width}}{'constant':>10}{'all-black':>11}"]
    lines += [f"{s:<{width}}{st['constant']:>10}{st['all_black']:>11}" for s, st in splits.items()]
    d = stats["duplicates"]
    lines += [
        "",
        "exact duplicates (byte-identical pixels)",
        f"  groups: {d['groups']}  images in them: {d['images']}  redundant copies: {d['redundant_copies']}",
        "  groups within one split: " + (", ".join(f"{s} {n}" for s, n in d["within_split_groups"].items()) or "none"),
        f"  groups spanning splits: {d['cross_split_groups']}",
    ]
    if "label_conflict_groups" in d:
        lines.append(f"  groups whose copies have different labels: {d['label_conflict_groups']}")
    for ex in stats["duplicate_groups"][:examples]:
        lines.append("  e.g. " + " | ".join(ex[:4]) + (f" | ... ({len(ex)} copies)" if len(ex) > 4 else ""))
    return "\n".join(lines)
