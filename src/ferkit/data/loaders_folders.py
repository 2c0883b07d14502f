"""Loaders for the image-folder formats: CK+48, JAFFE, RAF-DB, AffectNet and generic image folders.

Every loader returns ``uint8`` (N, size, size) grey images (or (N, size, size, 3) RGB where the format has colour and
``in_chans=3`` is asked for) with canonical label names, decodes once into the
prepared-array cache (``cache``: a folder, None for the default, False to skip caching) and rejects
unknown options. The format details live in one module per dataset.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ferkit.data import affectnet, ckplus, imagefolder, jaffe, rafdb
from ferkit.data.base import ArrayDataset
from ferkit.data.cache import cache_path, cached_arrays, source_key
from ferkit.data.imageio import listing_key
from ferkit.data.registry import register_dataset
from ferkit.data.subject_folds import assign_folds, split_rows
from ferkit.errors import DatasetError
from ferkit.labels import AFFECTNET_LABELS, CKPLUS_LABELS, JAFFE_LABELS, RAFDB_LABELS
from ferkit.settings import data_root as resolve_root

PathLike = str | os.PathLike


def _check_chans(name: str, in_chans) -> int:
    if in_chans not in (1, 3) or isinstance(in_chans, bool):
        raise DatasetError(f"dataset {name!r}: in_chans must be 1 or 3, got {in_chans!r}")
    return in_chans


def _check_options(name: str, unused: dict, size) -> int:
    if unused:
        raise DatasetError(f"dataset {name!r} got unknown option(s): {', '.join(sorted(unused))}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise DatasetError(f"dataset {name!r}: size must be an integer >= 8, got {size!r}")
    return size


def _arrays(
    name: str, key: str, build: Callable[[], dict[str, np.ndarray]], cache, info: dict
) -> dict[str, np.ndarray]:
    """Cached unless cache is False; records where the cache lives in ``info['cache']``."""
    if cache is False:
        return build()
    info["cache"] = str(cache_path(name, key, cache))
    return cached_arrays(name, key, build, cache)


def _dataset(
    arrays: dict[str, np.ndarray],
    rows: np.ndarray,
    labels: tuple[str, ...],
    name: str,
    split: str,
    extra: tuple[str, ...],
    info: dict,
    **more_extra: np.ndarray,
) -> ArrayDataset:
    if rows.size == 0:
        raise DatasetError(f"{name}: split {split!r} is empty")
    ex = {k: np.asarray(arrays[k][rows]) for k in extra}
    ex.update({k: np.asarray(v)[rows] for k, v in more_extra.items()})
    return ArrayDataset(
        images=np.asarray(arrays["images"][rows]),
        targets=np.asarray(arrays["label"][rows]),
        labels=labels,
        name=name,
        split=split,
        extra=ex,
        info=info,
    )


def _check_folds(folds, name: str) -> int:
    if isinstance(folds, bool) or not isinstance(folds, int):
        raise DatasetError(f"dataset {name!r}: folds must be an integer, got {folds!r}")
    return folds


def _folds(arrays, split: str, folds, seed, name: str) -> tuple[np.ndarray, np.ndarray]:
    _check_folds(folds, name)
    fold = assign_folds(np.asarray(arrays["subject"]), folds, seed, np.asarray(arrays["label"]))
    return fold, split_rows(split, fold, folds, name)


@register_dataset("ckplus")
def load_ckplus(
    split: str = "all",
    data_root: PathLike | None = None,
    size: int = 48,
    folds: int = 10,
    seed: int = 0,
    cache=None,
    progress: bool = True,
    **unused,
) -> ArrayDataset:
    """CK+48 with subject-independent folds: split 'all', 'fold<k>' (test fold) or 'train<k>' (the rest)."""
    size = _check_options("ckplus", unused, size)
    folder = ckplus.find_folder(resolve_root(data_root))
    paths, _ = ckplus.list_files(folder)
    info = {"folds": folds, "seed": seed, "root": str(folder)}
    arrays = _arrays(
        "ckplus", listing_key(paths, size=size), lambda: ckplus.read_folder(folder, size, progress), cache, info
    )
    fold, rows = _folds(arrays, split, folds, seed, "ckplus")
    return _dataset(
        arrays, rows, CKPLUS_LABELS, "ckplus", split.lower(), ("subject", "sequence", "frame", "file"), info, fold=fold
    )


@register_dataset("jaffe")
def load_jaffe(
    split: str = "all",
    data_root: PathLike | None = None,
    size: int = 48,
    folds: int = 10,
    seed: int = 0,
    cropper: jaffe.Cropper | None = None,
    cache=None,
    progress: bool = True,
    **unused,
) -> ArrayDataset:
    """JAFFE face crops with subject-independent folds (split names as for ckplus).

    ``cropper``: RGB uint8 photo -> list of grey face crops (first one used). Default: a ferkit.faces
    detector (see jaffe.default_cropper), else the centre square. A custom cropper is not cached (a function
    has no key); the default one is cached under its detector's name.
    info['faces_not_detected'] counts the images of the split where the centre square was used.
    """
    size = _check_options("jaffe", unused, size)
    folder = jaffe.find_folder(resolve_root(data_root))
    files = jaffe.list_files(folder)
    if cropper is None:
        cropper, how = jaffe.default_cropper()
    else:
        how, cache = "custom", False
    info = {"folds": folds, "seed": seed, "root": str(folder), "cropper": how}
    arrays = _arrays(
        "jaffe",
        listing_key(files, size=size, cropper=how),
        lambda: jaffe.read_folder(folder, size, cropper, progress),
        cache,
        info,
    )
    fold, rows = _folds(arrays, split, folds, seed, "jaffe")
    faces = np.asarray(arrays["faces"][rows])
    info.update(faces_not_detected=int((faces == 0).sum()), multiple_faces=int((faces > 1).sum()))
    return _dataset(arrays, rows, JAFFE_LABELS, "jaffe", split.lower(), ("subject", "file", "faces"), info, fold=fold)


@register_dataset("rafdb")
def load_rafdb(
    split: str,
    data_root: PathLike | None = None,
    size: int = 48,
    cache=None,
    progress: bool = True,
    in_chans: int = 1,
    **unused,
) -> ArrayDataset:
    """RAF-DB basic (aligned 100x100 colour faces): split 'train' or 'test'; in_chans=3 keeps the colour."""
    size = _check_options("rafdb", unused, size)
    in_chans = _check_chans("rafdb", in_chans)
    key = split.strip().lower()
    if key not in rafdb.SPLITS:
        raise DatasetError(f"rafdb: unknown split {split!r}; choose from {', '.join(rafdb.SPLITS)}")
    listing, images = rafdb.find_files(resolve_root(data_root))
    info = {"root": str(listing.parent)}
    key_params = {"size": size, **({"in_chans": 3} if in_chans == 3 else {})}  # grey keys as before: caches stay valid
    arrays = _arrays(
        "rafdb",
        source_key(listing, images, **key_params),
        lambda: rafdb.read_all(listing, images, size, progress, in_chans),
        cache,
        info,
    )
    rows = np.flatnonzero(np.asarray(arrays["split"]) == key)
    return _dataset(arrays, rows, RAFDB_LABELS, "rafdb", key, ("file",), info)


@register_dataset("affectnet")
def load_affectnet(
    split: str,
    data_root: PathLike | None = None,
    size: int = 48,
    classes: int = 8,
    cache=None,
    progress: bool = True,
    in_chans: int = 1,
    **unused,
) -> ArrayDataset:
    """AffectNet manual annotations: split 'train' (training.csv) or 'val' (validation.csv).

    classes=8 keeps expressions 0..7; classes=7 also drops contempt. extra carries valence and arousal.
    The cache key covers the CSV and the image folder itself, not each of its many files.
    """
    size = _check_options("affectnet", unused, size)
    in_chans = _check_chans("affectnet", in_chans)
    if classes not in (7, 8):
        raise DatasetError(f"affectnet: classes must be 7 or 8, got {classes!r}")
    key = affectnet.split_name(split)
    csv_path, images = affectnet.find_files(resolve_root(data_root), key)
    info = {"root": str(csv_path.parent), "classes": classes}
    chans = {"in_chans": 3} if in_chans == 3 else {}
    arrays = _arrays(
        f"affectnet-{key}",
        source_key(csv_path, images, size=size, classes=classes, **chans),
        lambda: affectnet.read_split(csv_path, images, size, classes, progress, in_chans),
        cache,
        info,
    )
    rows = np.arange(len(arrays["label"]))
    return _dataset(
        arrays, rows, AFFECTNET_LABELS[:classes], "affectnet", key, ("file", "box", "valence", "arousal"), info
    )


@register_dataset("imagefolder")
def load_imagefolder(
    split: str = "all",
    data_root: PathLike | None = None,
    path: PathLike | None = None,
    size: int = 48,
    cache=None,
    progress: bool = True,
    in_chans: int = 1,
    **unused,
) -> ArrayDataset:
    """root/<split>/<label>/* or root/<label>/* (split 'all'). ``path``: the folder, absolute or relative to
    the data root (default: the data root itself). Split 'all' of a split-organised folder joins every split.
    in_chans=3 reads colour (N, size, size, 3)."""
    size = _check_options("imagefolder", unused, size)
    in_chans = _check_chans("imagefolder", in_chans)
    root = _folder_root(data_root, path)
    labels, items = imagefolder.scan(root)
    info = {"root": str(root)}
    chans = {"in_chans": 3} if in_chans == 3 else {}
    arrays = _arrays(
        "imagefolder",
        listing_key([p for _, p, _ in items], size=size, **chans),
        lambda: imagefolder.read_all(root, size, progress, in_chans)[1],
        cache,
        info,
    )
    splits = np.asarray(arrays["split"])
    present = sorted(set(splits.tolist()))
    if split.lower() == "all":
        rows = np.arange(len(splits))
    else:
        match = [s for s in present if s.lower() == split.lower()]
        if not match:
            raise DatasetError(f"{root}: no split folder {split!r}; splits present: {', '.join(present)}")
        rows = np.flatnonzero(splits == match[0])
    name = split.lower() if split.lower() == "all" else match[0]
    return _dataset(arrays, rows, labels, "imagefolder", name, ("file", "split"), info)


def partition_splits(
    name: str, data_root: PathLike | None = None, folds: int = 10, path: PathLike | None = None, **unused
) -> list[str]:
    """Split names that together hold every image exactly once (the test folds for ckplus/jaffe)."""
    if name in ("ckplus", "jaffe"):
        return [f"fold{k}" for k in range(_check_folds(folds, name))]
    if name == "rafdb":
        return list(rafdb.SPLITS)
    if name == "affectnet":
        root = resolve_root(data_root)
        present = []
        for s in affectnet.SPLIT_FILES:
            try:
                affectnet.find_files(root, s)
            except DatasetError:
                continue
            present.append(s)
        if not present:
            affectnet.find_files(root, "train")  # raises the not-found message
        return present
    if name == "imagefolder":
        return list(imagefolder.layout(_folder_root(data_root, path)))
    raise DatasetError(f"no split listing for dataset {name!r}")


def _folder_root(data_root: PathLike | None, path: PathLike | None) -> Path:
    if path is not None and Path(path).expanduser().is_absolute():
        return Path(path).expanduser()
    return resolve_root(data_root) / (path or "")
