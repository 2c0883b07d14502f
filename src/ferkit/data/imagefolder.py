"""Generic image folders: ``root/<split>/<label>/*.png`` or ``root/<label>/*`` (split "all").

Folder names become labels, mapped to canonical emotion names where ferkit.labels knows them (``happy`` ->
``happiness``); other names are kept as they are. Every split gets the same label list (sorted union).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferkit.data.imageio import read_image, resize_square
from ferkit.errors import DatasetError
from ferkit.labels import canonical
from ferkit.media.sniff import is_image_file


def _subdirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p))


def label_name(folder_name: str) -> str:
    try:
        return canonical(folder_name)
    except KeyError:
        return folder_name


def layout(root: Path) -> dict[str, Path]:
    """Split name -> folder of label folders. A root whose sub-folders hold only folders is split-organised;
    a root whose sub-folders hold images is a single split called ``all``."""
    if not root.is_dir():
        raise DatasetError(f"image folder {str(root)!r} is not a directory")
    subs = _subdirs(root)
    if not subs:
        raise DatasetError(f"{root}: no sub-folders; expected root/<label>/* or root/<split>/<label>/*")
    with_images = [s for s in subs if _images(s)]
    if with_images:
        return {"all": root}
    return {s.name: s for s in subs}


def scan(root: Path) -> tuple[tuple[str, ...], list[tuple[str, Path, int]]]:
    """(labels, [(split, image path, label index)]) over every split."""
    splits = layout(root)
    folders: dict[str, list[Path]] = {}
    names: dict[str, str] = {}  # label -> first folder name seen, to catch two spellings of one label
    for split, folder in splits.items():
        label_dirs = _subdirs(folder)
        if not label_dirs:
            raise DatasetError(
                f"{folder}: no images and no label folders; expected root/<label>/*.png or root/<split>/<label>/*.png"
            )
        for d in label_dirs:
            label = label_name(d.name)
            if names.setdefault(label, d.name) != d.name:
                raise DatasetError(
                    f"{d}: folder {d.name!r} and folder {names[label]!r} both mean label {label!r}; rename one"
                )
            folders.setdefault(split, []).append(d)
    labels = tuple(sorted(names))
    items = []
    for split, dirs in folders.items():
        for d in dirs:
            items += [(split, p, labels.index(label_name(d.name))) for p in _images(d)]
    if not items:
        raise DatasetError(f"{root}: no image files (extensions png, jpg, jpeg, bmp, tif(f), webp, ...)")
    return labels, items


def read_all(
    root: Path, size: int = 48, progress: bool = True, in_chans: int = 1
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """Every image at (size, size) grey (in_chans 1) or (size, size, 3) RGB (in_chans 3)."""
    labels, items = scan(root)
    images = np.empty((len(items), size, size) + ((3,) if in_chans == 3 else ()), np.uint8)
    mode = "RGB" if in_chans == 3 else "L"
    for i, (_, p, _) in enumerate(tqdm(items, desc=f"reading {root.name}", unit="img", disable=not progress)):
        images[i] = resize_square(read_image(p, mode), size)
    return labels, {
        "images": images,
        "label": np.asarray([c for _, _, c in items], np.int64),
        "split": np.asarray([s for s, _, _ in items]),
        "file": np.asarray([str(p.relative_to(root)) for _, p, _ in items]),
    }
