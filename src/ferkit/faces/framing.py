"""How a face becomes a classifier's input crop: the 2x3 matrix (original pixels -> crop pixels) of each face.

``FerFraming``: ferkit's own FER2013 framing (:mod:`ferkit.faces.alignment`); ``BoxFraming``: the detector's
box made square around its centre, side times 1 + margin, zero outside the image; ``TemplateFraming``: a
similarity transform fitted from the detector's keypoints to given positions in crop pixels (the alignment
face-recognition models are trained with). Every framing gives the crop size (width, height) and the border
rule, so :func:`crop_faces` cuts any of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ferkit.faces.alignment import (
    DEFAULT_CROP_SCALE,
    alignment_matrices,
    similarity_matrices,
    warp,
)
from ferkit.faces.types import LANDMARK_NAMES, Detection


@dataclass
class FerFraming:
    """ferkit's FER framing at ``size`` pixels: landmarks onto the FER template, else the box times the
    detector's crop_scale. Border pixels are repeated (as the training crops were made)."""

    size: int
    zero_border: bool = field(default=False, init=False)

    @property
    def crop_size(self) -> tuple[int, int]:
        return self.size, self.size

    def matrices(self, detections: list[Detection], crop_scale: float = DEFAULT_CROP_SCALE) -> np.ndarray:
        return alignment_matrices(detections, self.size, crop_scale)


def square_box_matrices(detections: list[Detection], width: int, height: int, margin: float) -> np.ndarray:
    """(N, 2, 3): each box made square around its centre, side = max(w, h) * (1 + margin), scaled onto
    width x height (stretched where the crop is not square)."""
    out = np.zeros((len(detections), 2, 3))
    for i, d in enumerate(detections):
        x1, y1, x2, y2 = (float(v) for v in d.box)
        side = max(x2 - x1, y2 - y1, 1.0) * (1.0 + margin)
        sx, sy = width / side, height / side
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        out[i] = [[sx, 0.0, width / 2 - sx * cx], [0.0, sy, height / 2 - sy * cy]]
    return out


@dataclass
class BoxFraming:
    """The box made square (side x (1 + margin)), zero padding outside the image, resized to width x height."""

    width: int
    height: int
    margin: float = 0.0
    zero_border: bool = field(default=True, init=False)

    @property
    def crop_size(self) -> tuple[int, int]:
        return self.width, self.height

    def matrices(self, detections: list[Detection], crop_scale: float = DEFAULT_CROP_SCALE) -> np.ndarray:
        return square_box_matrices(detections, self.width, self.height, self.margin)


@dataclass
class TemplateFraming:
    """points: {landmark name: (x, y) in crop pixels} for two or more of LANDMARK_NAMES. Faces without those
    landmarks (Haar, ``none``) fall back to the square box with ``fallback_margin``."""

    width: int
    height: int
    points: dict[str, tuple[float, float]]
    fallback_margin: float = 0.0
    zero_border: bool = field(default=True, init=False)

    @property
    def crop_size(self) -> tuple[int, int]:
        return self.width, self.height

    def matrices(self, detections: list[Detection], crop_scale: float = DEFAULT_CROP_SCALE) -> np.ndarray:
        index = [LANDMARK_NAMES.index(n) for n in self.points]
        dst = np.array(list(self.points.values()), np.float64)
        out = square_box_matrices(detections, self.width, self.height, self.fallback_margin)
        usable = [
            i
            for i, d in enumerate(detections)
            if d.landmarks is not None and len(d.landmarks) > max(index) and np.isfinite(d.landmarks[index]).all()
        ]
        if usable:
            src = np.stack([np.asarray(detections[i].landmarks, np.float64)[index] for i in usable])
            out[usable] = similarity_matrices(src, dst)
        return out


def crop_faces(
    image: np.ndarray,
    detections: list[Detection],
    framing,
    crop_scale: float = DEFAULT_CROP_SCALE,
):
    """(crops (N, H, W[, 3]) uint8, matrices (N, 2, 3)) of ``framing`` for every detection of one image."""
    width, height = framing.crop_size
    matrices = framing.matrices(detections, crop_scale)
    border = cv2.BORDER_CONSTANT if framing.zero_border else cv2.BORDER_REPLICATE
    crops = [warp(image, m, (width, height), border) for m in matrices]
    empty = (0, height, width) + image.shape[2:]
    return (np.stack(crops) if crops else np.zeros(empty, np.uint8)), list(matrices)
