"""Face pipeline stages independent of any classifier: detection, alignment, tracking (image reading, ``as_rgb``
and ``load_image``, lives in ``ferkit.media.images`` and is re-exported here)."""

from ferkit.faces import auto, blazeface, haar, whole, yunet  # noqa: F401,E402  (register the built-in detectors)
from ferkit.faces.base import FaceDetector, create_detector, list_detectors, register_detector
from ferkit.faces.types import LANDMARK_NAMES, Detection
from ferkit.media.images import as_rgb, load_image

__all__ = [
    "Detection",
    "FaceDetector",
    "LANDMARK_NAMES",
    "as_rgb",
    "create_detector",
    "list_detectors",
    "load_image",
    "register_detector",
]
