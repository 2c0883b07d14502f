"""AffectNet manual annotations: ``training.csv`` / ``validation.csv`` + ``Manually_Annotated_Images/``.

CSV columns: subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks, expression,
valence, arousal. Expressions 0..7 are emotions (AFFECTNET_LABELS); 8..10 (none, uncertain, non-face) are
skipped. Each face is cut out with its annotated box (clipped to the image) and resized.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ferkit.data.imageio import read_image, resize_square
from ferkit.errors import DatasetError
from ferkit.labels import AFFECTNET_LABELS

COLUMNS = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
SPLIT_FILES = {"train": "training.csv", "val": "validation.csv"}
_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val"}
_BASES = ("affectnet", "AffectNet", "affectnet/Manually_Annotated", "")
_LIST_DIRS = ("", "Manually_Annotated_file_lists")
_IMAGE_DIRS = ("Manually_Annotated_Images", "Manually_Annotated/Manually_Annotated_Images")


def split_name(split: str) -> str:
    key = split.strip().lower()
    if key not in _ALIASES:
        raise DatasetError(
            f"affectnet: unknown split {split!r}; choose from train (training.csv) or val (validation.csv)"
        )
    return _ALIASES[key]


def find_files(root: Path, split: str) -> tuple[Path, Path]:
    """(annotation CSV, image folder) of a split under a data root."""
    name = SPLIT_FILES[split]
    for rel in _BASES:
        base = root / rel if rel else root
        for sub in _LIST_DIRS:
            csv_path = base / sub / name if sub else base / name
            if csv_path.is_file():
                for img in _IMAGE_DIRS:
                    if (base / img).is_dir():
                        return csv_path, base / img
                raise DatasetError(
                    f"AffectNet: found {csv_path} but no image folder {' or '.join(str(base / d) for d in _IMAGE_DIRS)}"
                )
    raise DatasetError(
        f"AffectNet {name} not found under {str(root)!r}: expected e.g. {root / 'affectnet' / name} "
        f"and {root / 'affectnet' / _IMAGE_DIRS[0]}"
    )


def read_annotations(path: Path, classes: int = 8) -> dict[str, np.ndarray]:
    """Rows whose expression is 0..classes-1: file, box (x, y, w, h), label, valence, arousal, line."""
    files, boxes, labels, va, lines = [], [], [], [], []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or [h.strip() for h in header[: len(COLUMNS)]] != list(COLUMNS):
                raise DatasetError(f"{path}: header must be {','.join(COLUMNS)}, got {header!r}")
            for line_no, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) < len(COLUMNS):
                    raise DatasetError(f"{path}:{line_no}: expected {len(COLUMNS)} columns, got {len(row)}")
                try:
                    expression = int(row[6])
                    box = [int(float(v)) for v in row[1:5]]
                    valence, arousal = float(row[7]), float(row[8])
                except ValueError:
                    raise DatasetError(
                        f"{path}:{line_no}: face box, expression, valence and arousal must be "
                        f"numbers, got {row[1:5] + row[6:9]}"
                    ) from None
                if not 0 <= expression <= 10:
                    raise DatasetError(f"{path}:{line_no}: expression {expression} outside 0..10")
                if expression >= classes:
                    continue
                if box[2] <= 0 or box[3] <= 0:
                    raise DatasetError(f"{path}:{line_no}: empty face box {box}")
                files.append(row[0].strip())
                boxes.append(box)
                labels.append(expression)
                va.append((valence, arousal))
                lines.append(line_no)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    if not files:
        raise DatasetError(f"{path}: no rows with an emotion label (expression 0..{classes - 1})")
    va_arr = np.asarray(va, np.float32)
    return {
        "file": np.asarray(files),
        "box": np.asarray(boxes, np.int64),
        "label": np.asarray(labels, np.int64),
        "valence": va_arr[:, 0],
        "arousal": va_arr[:, 1],
        "line": np.asarray(lines, np.int64),
    }


def crop_box(image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
    """The face box (x, y, w, h) clipped to the image; None if nothing of it lies inside."""
    x, y, w, h = (int(v) for v in box)
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, image.shape[1]), min(y + h, image.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    return image[y0:y1, x0:x1]


def read_split(
    csv_path: Path, images: Path, size: int = 48, classes: int = 8, progress: bool = True, in_chans: int = 1
) -> dict[str, np.ndarray]:
    ann = read_annotations(csv_path, classes)
    out = np.empty((len(ann["file"]), size, size) + ((3,) if in_chans == 3 else ()), np.uint8)
    for i, (rel, box) in enumerate(
        tqdm(list(zip(ann["file"], ann["box"])), desc=f"reading {csv_path.name}", unit="img", disable=not progress)
    ):
        path = images / rel
        if not path.is_file():
            raise DatasetError(f"{csv_path}:{ann['line'][i]}: image {path} not found")
        face = crop_box(read_image(path, "RGB" if in_chans == 3 else "L"), box)
        if face is None:
            raise DatasetError(f"{csv_path}:{ann['line'][i]}: face box {box.tolist()} lies outside {path}")
        out[i] = resize_square(face, size)
    ann["images"] = out
    assert classes <= len(AFFECTNET_LABELS)
    return ann
