"""FER2013 in the canonical Kaggle CSV format (emotion,pixels,Usage), plain or gzip-compressed."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferkit.errors import DatasetError
from ferkit.labels import FER2013_LABELS

IMAGE_SIZE = 48
_CANDIDATES = ("fer2013/fer2013.csv.gz", "fer2013/fer2013.csv", "fer2013.csv.gz", "fer2013.csv")


def find_csv(root: Path) -> Path:
    """Locate fer2013.csv[.gz] under a data root."""
    if root.is_file():
        return root
    for rel in _CANDIDATES:
        if (root / rel).is_file():
            return root / rel
    raise DatasetError(f"FER2013 not found under {str(root)!r}: expected one of {', '.join(_CANDIDATES)}")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_csv(path: Path, progress: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read every row: (images uint8 (N,48,48), emotion int64 (N,), usage str array (N,)).

    Malformed rows raise a DatasetError naming the file and the 1-based line number.
    """
    images, emotions, usages = [], [], []
    n_pixels = IMAGE_SIZE * IMAGE_SIZE
    try:
        with _open_text(path) as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip().lower() for h in header[:3]] != ["emotion", "pixels", "usage"]:
                raise DatasetError(f"{path}: header must be 'emotion,pixels,Usage', got {header!r}")
            for line_no, row in enumerate(
                tqdm(reader, desc=f"reading {path.name}", unit="rows", disable=not progress), start=2
            ):
                if len(row) < 3:
                    raise DatasetError(f"{path}:{line_no}: expected 3 columns, got {len(row)}")
                try:
                    emotion = int(row[0])
                except ValueError:
                    raise DatasetError(f"{path}:{line_no}: emotion {row[0]!r} is not an integer") from None
                if not 0 <= emotion < len(FER2013_LABELS):
                    raise DatasetError(f"{path}:{line_no}: emotion {emotion} outside 0..6")
                try:
                    pixels = np.array(row[1].split(), dtype=np.int32)
                except ValueError:
                    raise DatasetError(f"{path}:{line_no}: pixels contain a non-integer value") from None
                if pixels.size != n_pixels:
                    raise DatasetError(f"{path}:{line_no}: {pixels.size} pixel values, expected {n_pixels}")
                if pixels.min() < 0 or pixels.max() > 255:
                    raise DatasetError(f"{path}:{line_no}: pixel values outside 0..255")
                images.append(pixels.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE))
                emotions.append(emotion)
                usages.append(row[2].strip())
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    if not images:
        raise DatasetError(f"{path}: no data rows")
    return np.stack(images), np.asarray(emotions, np.int64), np.asarray(usages)
