"""Face pipeline stages independent of any classifier: image I/O, detection, alignment, tracking."""
from ferkit.faces import auto, blazeface, haar, whole, yunet  # noqa: F401,E402  (register the built-in detectors)
from ferkit.faces.base import FaceDetector, create_detector, list_detectors, register_detector
from ferkit.faces.image_io import as_rgb, load_image
from ferkit.faces.types import LANDMARK_NAMES, Detection

__all__ = ["Detection", "FaceDetector", "LANDMARK_NAMES", "as_rgb", "create_detector", "list_detectors",
           "load_image", "register_detector"]
