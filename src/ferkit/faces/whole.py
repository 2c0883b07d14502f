"""``detector="none"``: the whole image is one face, for inputs that are already face crops (datasets such as
FER2013 or CK+48, apps that crop faces themselves). Alignment then frames the image by its box, exactly as
training saw its crops."""

from __future__ import annotations

import numpy as np

from ferkit.faces.base import FaceDetector, register_detector
from ferkit.faces.types import Detection


@register_detector("none")
class WholeImageDetector(FaceDetector):
    """One detection per image: its full box, score 1, no landmarks. A non-square image is centred in a square
    crop of its longer side (the border pixels are repeated)."""

    name = "none"
    crop_scale = 1.0  # the crop is the image itself

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        if h == 0 or w == 0:
            return []
        return [Detection(box=np.array([0, 0, w, h], np.float32), score=1.0)]
