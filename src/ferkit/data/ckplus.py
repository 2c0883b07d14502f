"""CK+48 (Extended Cohn-Kanade, 48x48 crops) in its image-folder layout.

``ckplus/CK+48/<emotion>/S<subject>_<sequence>_<frame>.png`` with the seven folders below; the files are the
last frames of each sequence, so several images share a subject and a sequence: split by subject only.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferkit.data.imageio import read_image, resize_square
from ferkit.errors import DatasetError
from ferkit.labels import CKPLUS_LABELS
from ferkit.media.sniff import is_image_file

FOLDERS = ("anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise")  # -> CKPLUS_LABELS
_CANDIDATES = ("ckplus/CK+48", "CK+48", "ckplus")
_NAME = re.compile(r"^(S\d+)_(\d+)_(\d+)$", re.IGNORECASE)


def find_folder(root: Path) -> Path:
    """The CK+48 folder under a data root (or the root itself if it holds the emotion folders)."""
    for rel in _CANDIDATES + ("",):
        folder = root / rel if rel else root
        if all((folder / name).is_dir() for name in FOLDERS):
            return folder
    tried = ", ".join(str(root / rel) for rel in _CANDIDATES)
    raise DatasetError(
        f"CK+48 not found under {str(root)!r}: expected the folders {', '.join(FOLDERS)} in one of {tried}"
    )


def list_files(folder: Path) -> tuple[list[Path], np.ndarray]:
    """Every image path (sorted) and its label index into CKPLUS_LABELS."""
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if sub.name.lower() not in FOLDERS:
            raise DatasetError(f"{sub}: unexpected CK+48 folder; expected only {', '.join(FOLDERS)}")
    paths, labels = [], []
    for index, name in enumerate(FOLDERS):
        files = sorted(p for p in (folder / name).iterdir() if is_image_file(p))
        if not files:
            raise DatasetError(f"{folder / name}: no images")
        paths += files
        labels += [index] * len(files)
    assert len(FOLDERS) == len(CKPLUS_LABELS)
    return paths, np.asarray(labels, np.int64)


def parse_name(path: Path) -> tuple[str, int, int]:
    """``S010_004_00000017.png`` -> ("S010", 4, 17); a DatasetError naming the file otherwise."""
    m = _NAME.match(path.stem)
    if not m:
        raise DatasetError(f"{path}: CK+ file names must look like S<subject>_<sequence>_<frame>.png")
    return m.group(1).upper(), int(m.group(2)), int(m.group(3))


def read_folder(folder: Path, size: int = 48, progress: bool = True) -> dict[str, np.ndarray]:
    """Decode every image: images uint8 (N,size,size), label, subject, sequence, frame, file (relative name)."""
    paths, labels = list_files(folder)
    parsed = [parse_name(p) for p in paths]  # validate every name before the slow part
    images = np.empty((len(paths), size, size), np.uint8)
    for i, p in enumerate(tqdm(paths, desc="reading CK+48", unit="img", disable=not progress)):
        images[i] = resize_square(read_image(p, "L"), size)
    return {
        "images": images,
        "label": labels,
        "subject": np.asarray([s for s, _, _ in parsed]),
        "sequence": np.asarray([q for _, q, _ in parsed], np.int64),
        "frame": np.asarray([f for _, _, f in parsed], np.int64),
        "file": np.asarray([f"{p.parent.name}/{p.name}" for p in paths]),
    }
