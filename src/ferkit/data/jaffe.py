"""JAFFE (Japanese Female Facial Expression): whole-head TIFF photos that need face cropping.

Files are named ``XX.EEn.NNN.tiff``: XX the subject's initials, EE the expression code (AN DI FE HA NE SA SU),
n the repetition, NNN the picture number. A *cropper* turns an RGB photo into grey face crops; when it
finds no face the centre square is used instead and counted, so the caller can see how many.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferkit.data.imageio import centre_square, read_image, resize_square, to_grey
from ferkit.errors import DatasetError, FerkitError
from ferkit.labels import JAFFE_LABELS

Cropper = Callable[[np.ndarray], Sequence[np.ndarray]]

CODES = ("AN", "DI", "FE", "HA", "NE", "SA", "SU")  # -> JAFFE_LABELS
_CANDIDATES = ("jaffe", "JAFFE", "jaffedbase", "jaffe/jaffedbase", "jaffe/jaffe", "")
_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d*)\.(\d+)$", re.IGNORECASE)
_TIFF = (".tif", ".tiff")


def find_folder(root: Path) -> Path:
    for rel in _CANDIDATES:
        folder = root / rel if rel else root
        if folder.is_dir() and any(p.suffix.lower() in _TIFF for p in folder.iterdir()):
            return folder
    tried = ", ".join(str(root / rel) for rel in _CANDIDATES if rel)
    raise DatasetError(f"JAFFE not found under {str(root)!r}: no .tiff files in any of {tried}")


def parse_name(path: Path) -> tuple[str, int]:
    """``KA.AN1.39.tiff`` -> ("KA", index of anger in JAFFE_LABELS)."""
    m = _NAME.match(path.stem)
    if not m or m.group(2).upper() not in CODES:
        raise DatasetError(f"{path}: JAFFE file names must look like XX.EEn.NNN.tiff with EE in {' '.join(CODES)}")
    return m.group(1).upper(), CODES.index(m.group(2).upper())


def list_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _TIFF and not p.name.startswith("."))
    if not files:
        raise DatasetError(f"{folder}: no JAFFE .tiff files")
    return files


def default_cropper() -> tuple[Cropper | None, str]:
    """A cropper built on ferkit.faces if it is installed and a detector can be created, else (None, "centre").

    Prefers a ``ferkit.faces.crop_faces`` function; otherwise wraps ``create_detector("auto")``.
    Imported lazily: the data layer itself knows no networks.
    """
    try:
        from ferkit import faces

        fn = getattr(faces, "crop_faces", None)
        if callable(fn):
            return fn, "ferkit.faces.crop_faces"
        detector = faces.create_detector("auto")
    except (ImportError, AttributeError, FerkitError, OSError):
        return None, "centre"
    return DetectorCropper(detector), f"ferkit.faces:{getattr(detector, 'name', type(detector).__name__)}"


class DetectorCropper:
    """Grey square crops around each detection (best first): side = detector.crop_scale x the box's longer side,
    centred on the box, padded with edge pixels where it leaves the photo."""

    def __init__(self, detector):
        self.detector = detector

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        grey = to_grey(rgb)
        out = []
        for det in self.detector(rgb):
            x1, y1, x2, y2 = (float(v) for v in det.box)
            side = max(x2 - x1, y2 - y1) * float(getattr(self.detector, "crop_scale", 1.0))
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            x0, y0, n = int(round(cx - side / 2)), int(round(cy - side / 2)), max(int(round(side)), 1)
            pad = max(0, -x0, -y0, x0 + n - grey.shape[1], y0 + n - grey.shape[0])
            padded = np.pad(grey, pad, mode="edge") if pad else grey
            out.append(padded[y0 + pad : y0 + pad + n, x0 + pad : x0 + pad + n])
        return out


def crop_face(rgb: np.ndarray, cropper: Cropper | None, size: int) -> tuple[np.ndarray, bool, int]:
    """(grey crop (size,size), face found?, number of faces). Without a face: the centre square."""
    crops = list(cropper(rgb)) if cropper is not None else []
    if not crops:
        return resize_square(centre_square(to_grey(rgb)), size), False, 0
    crop = np.asarray(crops[0])
    if crop.dtype != np.uint8 or crop.ndim not in (2, 3) or crop.size == 0:
        raise DatasetError(f"cropper returned a {crop.dtype} array of shape {crop.shape}; expected uint8 grey crops")
    return resize_square(to_grey(crop), size), True, len(crops)


def read_folder(
    folder: Path, size: int = 48, cropper: Cropper | None = None, progress: bool = True
) -> dict[str, np.ndarray]:
    """Decode and crop every photo: images, label, subject, file and ``faces`` (faces the cropper found;
    0 means the centre square was used)."""
    files = list_files(folder)
    parsed = [parse_name(p) for p in files]
    images = np.empty((len(files), size, size), np.uint8)
    faces = np.zeros(len(files), np.int64)
    for i, p in enumerate(tqdm(files, desc="reading JAFFE", unit="img", disable=not progress)):
        images[i], _, faces[i] = crop_face(read_image(p, "RGB"), cropper, size)
    assert len(CODES) == len(JAFFE_LABELS)
    return {
        "images": images,
        "label": np.asarray([c for _, c in parsed], np.int64),
        "subject": np.asarray([s for s, _ in parsed]),
        "file": np.asarray([p.name for p in files]),
        "faces": faces,
    }
