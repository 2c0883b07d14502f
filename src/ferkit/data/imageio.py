"""Image-file reading for the folder-format readers: decoding (ferkit's one decoder) and colour conversion, once.

Readers get RGB or grey ``uint8`` arrays; every failure is a DatasetError naming the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import DatasetError, MediaError
from ferkit.media.images import load_image


def read_image(path: Path, mode: str = "L") -> np.ndarray:
    """Decode an image file to ``uint8`` (H, W) for mode 'L' or (H, W, 3) for mode 'RGB'.

    Decoding is ferkit's one image decoder (``ferkit.media.images.load_image``: EXIF orientation, alpha
    composited on white, 16-bit scaled, pixel limit), the same the CLI, the API and the web app use; its
    MediaError becomes a DatasetError naming the file."""

    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: image file not found")
    try:
        rgb = load_image(path)
    except MediaError as e:
        reason = str(e)
        reason = reason[len(str(path)) + 2 :] if reason.startswith(f"{path}: ") else reason
        raise DatasetError(f"{path}: cannot decode image ({reason})") from None
    return to_grey(rgb) if mode == "L" else rgb


def to_grey(image: np.ndarray) -> np.ndarray:
    """RGB (H, W, 3) or grey (H, W) uint8 -> grey (H, W) uint8."""
    if image.ndim == 2:
        return image
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a grey image to (size, size): area averaging when shrinking, bilinear when enlarging."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return np.ascontiguousarray(image)
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=interp)


def centre_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square of an image."""
    h, w = image.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    return image[y0 : y0 + side, x0 : x0 + side]


def listing_key(files: Iterable[Path], **params) -> str:
    """A cache key that changes when any file is added, removed, resized or touched, or a parameter changes."""
    h = hashlib.sha1()
    for p in sorted(files):
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}\n".encode())
    for k in sorted(params):
        h.update(f"{k}={params[k]!r}\n".encode())
    return h.hexdigest()[:16]
