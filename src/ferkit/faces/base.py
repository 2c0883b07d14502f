"""The face-detector interface and registry: every backend returns Detections for an RGB uint8 image."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from ferkit.errors import ModelError
from ferkit.faces.types import Detection
from ferkit.registry import Registry


class FaceDetector(ABC):
    """Detectors never modify the image and report boxes/landmarks in its pixel coordinates.

    ``crop_scale``: side of the square crop that frames a face like a FER2013 image, in units of this
    detector's box side (used by alignment when there are no landmarks).
    """

    name: str = "?"
    crop_scale: float = 1.0

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Detection]:
        """image: (H, W, 3) RGB uint8 -> detections sorted by decreasing score."""

    def detect_with_candidates(self, image: np.ndarray, min_score: float, thorough: bool = True) -> list[Detection]:
        """``detect(image)`` plus weaker candidates scoring at least ``min_score`` (below the detector's own
        threshold), for trackers that keep a face alive on a weak detection. Default: ``detect`` alone.
        thorough=False lets a multi-pass detector run its first pass only (a video stream in an empty scene)."""
        return self.detect(image)

    def __call__(self, image: np.ndarray) -> list[Detection]:
        return self.detect(image)


DETECTORS: Registry[Callable[..., FaceDetector]] = Registry("face detector", ModelError)


def register_detector(name: str):
    return DETECTORS.register(name)


def list_detectors() -> list[str]:
    return DETECTORS.names()


def create_detector(name: str | FaceDetector = "auto", **kwargs) -> FaceDetector:
    """A detector by registry name ("auto" = faces at every scale, "none" = the whole image is one face) or an
    existing instance. An argument the detector does not take is a TypeError, a value it cannot use a ValueError
    (:class:`~ferkit.errors.DetectorOptionError`), each naming the argument; an unknown name is a ModelError."""
    from ferkit.faces.options import check_names

    if isinstance(name, FaceDetector):
        if kwargs:
            raise TypeError(f"create_detector: arguments {', '.join(sorted(kwargs))} given with a detector instance")
        return name
    if not isinstance(name, str):
        raise TypeError(f"create_detector: name must be a detector name or a FaceDetector, not {type(name).__name__}")
    builder = DETECTORS[name]
    check_names(name, builder, kwargs)
    return builder(**kwargs)
