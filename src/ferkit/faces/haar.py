"""OpenCV's Viola-Jones Haar cascade (the classic baseline; ships with opencv-python wheels). No landmarks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import DetectorUnavailable
from ferkit.faces.base import FaceDetector, register_detector
from ferkit.faces.options import number
from ferkit.faces.types import Detection


@register_detector("haar")
class HaarDetector(FaceDetector):
    name = "haar"
    crop_scale = 1.027  # measured on FER2013 (tools/estimate_face_template.py)

    def __init__(
        self,
        cascade: str = "haarcascade_frontalface_default.xml",
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: int = 20,
        max_side: int = 1024,
    ):
        scale_factor = number("haar", "scale_factor", scale_factor, lo=1.001)
        min_neighbors = number("haar", "min_neighbors", min_neighbors, lo=0, integer=True)
        min_size = number("haar", "min_size", min_size, lo=1, integer=True)
        max_side = number("haar", "max_side", max_side, lo=32, integer=True)
        if not isinstance(cascade, str):
            raise TypeError(f"haar detector: cascade must be a file name, not {cascade!r}")
        path = Path(cv2.data.haarcascades) / cascade
        self.cascade = cv2.CascadeClassifier(str(path))
        if self.cascade.empty():
            raise DetectorUnavailable(f"cannot load Haar cascade {path}")
        self.scale_factor, self.min_neighbors, self.min_size = scale_factor, min_neighbors, min_size
        self.max_side = max_side  # big photos are searched at reduced size: cost grows with pixels

    def detect(self, image: np.ndarray) -> list[Detection]:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        scale = min(1.0, self.max_side / max(grey.shape))
        if scale < 1.0:
            grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        boxes, _, weights = self.cascade.detectMultiScale3(
            grey,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        out = []
        for (x, y, w, h), level in zip(np.asarray(boxes).reshape(-1, 4), np.asarray(weights).reshape(-1)):
            box = np.array([x, y, x + w, y + h], dtype=np.float32) / scale
            # detectMultiScale3 gives an unbounded confidence; squash it to (0, 1) so scores are comparable.
            out.append(Detection(box=box, score=float(1.0 / (1.0 + np.exp(-float(level) / 2.0)))))
        return sorted(out, key=lambda d: -d.score)
