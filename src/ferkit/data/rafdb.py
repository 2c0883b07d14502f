"""RAF-DB basic emotions: ``EmoLabel/list_patition_label.txt`` + ``Image/aligned/<name>_aligned.jpg``.

Label lines are ``train_00001.jpg 5`` with labels 1..7 = surprise, fear, disgust, happiness, sadness, anger,
neutral (stored 0-based, see RAFDB_LABELS); the split is the file-name prefix (train / test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferkit.data.imageio import read_image, resize_square
from ferkit.errors import DatasetError
from ferkit.labels import RAFDB_LABELS

SPLITS = ("train", "test")
_LIST_NAMES = ("list_patition_label.txt", "list_partition_label.txt")  # the official file has the typo
_BASES = ("rafdb/basic", "rafdb", "RAF-DB/basic", "RAF-DB", "basic", "")


def find_files(root: Path) -> tuple[Path, Path]:
    """(label list, aligned-image folder) under a data root."""
    for rel in _BASES:
        base = root / rel if rel else root
        for sub in ("EmoLabel", ""):
            for name in _LIST_NAMES:
                listing = base / sub / name if sub else base / name
                if listing.is_file():
                    images = base / "Image" / "aligned"
                    if not images.is_dir():
                        raise DatasetError(f"RAF-DB: found {listing} but the image folder {images} is missing")
                    return listing, images
    raise DatasetError(
        f"RAF-DB not found under {str(root)!r}: expected e.g. "
        f"{root / 'rafdb/basic/EmoLabel/list_patition_label.txt'} and {root / 'rafdb/basic/Image/aligned'}"
    )


def read_list(path: Path) -> tuple[list[str], np.ndarray]:
    """Image names and 0-based labels; malformed lines raise a DatasetError naming file and line."""
    names, labels = [], []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    for line_no, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise DatasetError(f"{path}:{line_no}: expected '<image name> <label 1..7>', got {line.strip()!r}")
        try:
            label = int(parts[1])
        except ValueError:
            raise DatasetError(f"{path}:{line_no}: label {parts[1]!r} is not an integer") from None
        if not 1 <= label <= len(RAFDB_LABELS):
            raise DatasetError(f"{path}:{line_no}: label {label} outside 1..{len(RAFDB_LABELS)}")
        if split_of(parts[0]) is None:
            raise DatasetError(f"{path}:{line_no}: image name {parts[0]!r} does not start with train_ or test_")
        names.append(parts[0])
        labels.append(label - 1)
    if not names:
        raise DatasetError(f"{path}: no label lines")
    return names, np.asarray(labels, np.int64)


def split_of(name: str) -> str | None:
    prefix = name.split("_", 1)[0].lower()
    return prefix if prefix in SPLITS else None


def aligned_path(images: Path, name: str) -> Path:
    stem = name.rsplit(".", 1)[0]
    return images / f"{stem}_aligned.jpg"


def read_all(
    listing: Path, images: Path, size: int = 48, progress: bool = True, in_chans: int = 1
) -> dict[str, np.ndarray]:
    names, labels = read_list(listing)
    paths = [aligned_path(images, n) for n in names]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise DatasetError(f"RAF-DB: {len(missing)} image(s) listed in {listing} are missing, e.g. {missing[0]}")
    out = np.empty((len(paths), size, size) + ((3,) if in_chans == 3 else ()), np.uint8)
    for i, p in enumerate(tqdm(paths, desc="reading RAF-DB", unit="img", disable=not progress)):
        out[i] = resize_square(read_image(p, "RGB" if in_chans == 3 else "L"), size)
    return {
        "images": out,
        "label": labels,
        "split": np.asarray([split_of(n) for n in names]),
        "file": np.asarray(names),
    }
