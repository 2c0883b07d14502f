"""What a face detector returns: boxes, scores and landmarks in original-image pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Landmark order shared by all detectors that provide landmarks. "right"/"left" are the subject's, so for a
# frontal, unmirrored photo the right eye is the one on the image's left.
LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


@dataclass
class Detection:
    """box: (x1, y1, x2, y2) float pixels; score in [0, 1]; landmarks: (K, 2) pixels in LANDMARK_NAMES
    order (K = 4..6), or None when the detector gives none; source: the detector that placed the landmarks
    (``"blazeface"``, ``"yunet"``), which picks the alignment template (:mod:`ferkit.faces.templates`; None or
    an unknown name: BlazeFace's)."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray | None = None
    source: str | None = None

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])
