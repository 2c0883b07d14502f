"""YuNet (Shiqi Yu et al., libfacedetection; OpenCV model zoo, MIT, see assets/NOTICE): an anchor-free detector
made for small faces (about 10 to 300 pixels), run with ONNX Runtime at the size of the image, or of the image
shrunk so its longer side is at most ``max_side``.

Each face gives a box, a score and 5 keypoints; ferkit keeps right eye, left eye, nose and the mouth centre (the
mean of the two mouth corners) in :data:`~ferkit.faces.types.LANDMARK_NAMES` order, the four the aligner uses,
tagged ``source="yunet"`` so the aligner uses the template measured for them (:mod:`ferkit.faces.templates`).
"""

from __future__ import annotations

import inspect
import threading
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import DetectorUnavailable
from ferkit.faces.base import FaceDetector, register_detector
from ferkit.faces.blazeface import to_detections
from ferkit.faces.options import number
from ferkit.faces.types import Detection

WEIGHTS = Path(__file__).resolve().parent / "assets" / "yunet.onnx"
STRIDES = (8, 16, 32)
# Two-pass detection: the first pass keeps faces up to FINE_MAX px (in its resized image; YuNet was trained on
# faces of ~10-300 px, and at high resolution parts of a large face pass for faces), the close-up pass those of
# COARSE_MIN px and more (smaller ones there are the first pass's, seen at a better resolution).
FINE_MAX, COARSE_MIN = 224, 32
# A detection centred inside another one at least this many times its side is dropped (an eye is not a face).
INNER_RATIO = 2.5


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    r, c = np.meshgrid(
        np.arange(rows, dtype=np.float32),
        np.arange(cols, dtype=np.float32),
        indexing="ij",
    )
    return c.ravel(), r.ravel()


class YuNet(FaceDetector):
    """min_score: threshold on sqrt(class x objectness); max_side: the image is resized so its longer side is
    this many pixels, shrunk, or enlarged by at most ``max_upscale`` (cost grows with the pixels; 0 = as it
    is); max_pixels: a further limit on the pixels the first pass sees (0 = none: cost grows with them, about
    40 ms per million on one core); close_side: a second pass on the image shrunk to this side, for faces larger
    than YuNet's ~300 px (0 = none); threads: ONNX Runtime threads."""

    name = "yunet"
    crop_scale = 1.1  # box-only fallback framing; YuNet always gives keypoints

    def __init__(
        self,
        min_score: float = 0.6,
        iou_threshold: float = 0.3,
        max_side: int = 1280,
        close_side: int = 0,
        max_upscale: float = 1.0,
        threads: int | None = None,
        max_pixels: int = 0,
    ):
        self.min_score = number("yunet", "min_score", min_score, 0.0, 1.0)
        self.iou_threshold = number("yunet", "iou_threshold", iou_threshold, 0.0, 1.0)
        self.max_side = number("yunet", "max_side", max_side, lo=0, integer=True)
        self.close_side = number("yunet", "close_side", close_side, lo=0, integer=True)
        self.max_upscale = number("yunet", "max_upscale", max_upscale, lo=1.0, hi=4.0)
        self.max_pixels = number("yunet", "max_pixels", max_pixels, lo=0, integer=True)
        threads = number("yunet", "threads", threads, lo=0, integer=True, optional=True)
        if not WEIGHTS.is_file():
            raise DetectorUnavailable(f"YuNet weights missing: {WEIGHTS}")
        try:
            import onnxruntime as ort
        except ImportError:
            raise DetectorUnavailable("the yunet detector needs onnxruntime (pip install onnxruntime)") from None
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(WEIGHTS), options, providers=["CPUExecutionProvider"])
        self._outputs = [o.name for o in self.session.get_outputs()]
        self._buffer, self._buffer_lock = np.zeros(0, np.float32), threading.Lock()
        self._grids: dict[tuple[int, int], list] = {}

    def candidates(
        self,
        image: np.ndarray,
        max_side: int | None = None,
        min_score: float | None = None,
        scale: float | None = None,
    ):
        """Raw candidates in original pixels: boxes (N, 4), keypoints (N, 4, 2), scores (N,), before NMS.
        max_side: this call's limit on the longer side (default the detector's); scale: resize the image by
        this factor instead (above 1 enlarges it)."""
        limit = self.max_side if max_side is None else max_side
        h, w = image.shape[:2]
        if scale is None:
            scale = min(1.0, limit / max(h, w)) if limit else 1.0
        return self._decoded(resized(image, _scaled_size(w, h, scale)), scale, min_score)

    @contextmanager
    def _input_buffer(self, shape: tuple[int, ...]):
        """An array of ``shape`` for the network's input: the detector's own, reused between calls (a fresh one
        costs page faults, ~3 ms for 2 MP), or a new one while another thread holds it."""
        if not self._buffer_lock.acquire(blocking=False):
            yield np.empty(shape, np.float32)
            return
        try:
            if self._buffer.size < np.prod(shape):
                self._buffer = np.empty(int(np.prod(shape)), np.float32)
            yield self._buffer[: int(np.prod(shape))].reshape(shape)
        finally:
            self._buffer_lock.release()

    def _decoded(self, small: np.ndarray, scale: float, min_score: float | None = None):
        """``candidates`` on an image already resized by ``scale`` (RGB uint8)."""
        nh, nw = small.shape[:2]
        pw, ph = -(-nw // 32) * 32, -(-nh // 32) * 32
        with self._input_buffer((1, 3, ph, pw)) as x:
            network_input(small, x)
            outputs = dict(zip(self._outputs, self.session.run(self._outputs, {"input": x})))
        threshold = self.min_score if min_score is None else min_score
        boxes, points, scores = [], [], []
        for stride in STRIDES:
            cols, rows = pw // stride, ph // stride
            if (rows, cols) not in self._grids:
                self._grids[(rows, cols)] = _grid(rows, cols)
            gx, gy = self._grids[(rows, cols)]
            # sqrt(cls x obj) >= t  <=>  cls x obj >= t^2 (both clipped to [0, 1]): the root only for the kept
            cls = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0, 1)
            product = cls * np.clip(outputs[f"obj_{stride}"][0, :, 0], 0, 1)
            keep = np.nonzero(product >= threshold * threshold)[0]
            if not len(keep):
                continue
            bbox, kps = (
                outputs[f"bbox_{stride}"][0, keep],
                outputs[f"kps_{stride}"][0, keep],
            )
            cx, cy = (gx[keep] + bbox[:, 0]) * stride, (gy[keep] + bbox[:, 1]) * stride
            bw, bh = np.exp(bbox[:, 2]) * stride, np.exp(bbox[:, 3]) * stride
            boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1))
            five = np.stack(
                [
                    (kps[:, 0::2] + gx[keep, None]) * stride,
                    (kps[:, 1::2] + gy[keep, None]) * stride,
                ],
                -1,
            )
            points.append(np.concatenate([five[:, :3], five[:, 3:5].mean(1, keepdims=True)], 1))
            scores.append(np.sqrt(product[keep]))
        if not scores:
            return (
                np.zeros((0, 4), np.float32),
                np.zeros((0, 4, 2), np.float32),
                np.zeros(0, np.float32),
            )
        return (
            np.concatenate(boxes) / scale,
            np.concatenate(points) / scale,
            np.concatenate(scores).astype(np.float32),
        )

    def first_scale(self, height: int, width: int) -> float:
        """The first pass's resize factor for an image of this size: its longer side to ``max_side`` (enlarged
        at most ``max_upscale`` times), and at most ``max_pixels`` pixels."""
        scale = min(self.max_upscale, self.max_side / max(height, width)) if self.max_side else 1.0
        if self.max_pixels:
            scale = min(scale, (self.max_pixels / (height * width)) ** 0.5)
        return scale

    def detect(self, image: np.ndarray) -> list[Detection]:
        h, w = image.shape[:2]
        scale = self.first_scale(h, w)
        first = resized(image, _scaled_size(w, h, scale))
        boxes, points, scores = self._decoded(first, scale)
        if self.close_side:
            # faces larger than FINE_MAX px in the first pass come from the second, which sees them at a size
            # YuNet was trained for; faces smaller than COARSE_MIN px there come from the first
            small = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale <= FINE_MAX
            coarse = min(1.0, self.close_side / max(h, w))
            # shrunk from the first pass's image where that one is smaller than the original (fewer pixels to read)
            source = first if scale < 1.0 else image
            big = self._decoded(resized(source, _scaled_size(w, h, coarse)), coarse)
            large = np.maximum(big[0][:, 2] - big[0][:, 0], big[0][:, 3] - big[0][:, 1]) * coarse >= COARSE_MIN
            boxes, points, scores = (np.concatenate([a[small], b[large]]) for a, b in zip((boxes, points, scores), big))
        return without_inner_faces(to_detections(boxes, points, scores, image.shape, self.iou_threshold, "yunet"))


def _scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized to ``size`` (width, height): area averaging where it shrinks more than twice (each output
    pixel the mean of the ones it covers), bilinear otherwise (down to half size every input pixel still weighs in,
    at a fraction of area averaging's cost for ratios that are not whole numbers)."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    shrink = max(w / size[0], h / size[1])
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink > 2.0 else cv2.INTER_LINEAR)


def network_input(rgb: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (1, 3, height, width) with YuNet's input: the RGB image as BGR planes of float values 0-255,
    zero-padded on the right and bottom; returns ``out``."""
    nh, nw = rgb.shape[:2]
    out[:, :, nh:] = 0
    out[:, :, :nh, nw:] = 0
    for plane, channel in enumerate((2, 1, 0)):
        out[0, plane, :nh, :nw] = rgb[:, :, channel]
    return out


def without_inner_faces(found: list[Detection], ratio: float = INNER_RATIO) -> list[Detection]:
    """Drop detections centred inside another one at least ``ratio`` times their side: faces do not hold faces,
    but an eye or a mouth of a close-up seen at high resolution can pass for a small face."""
    if len(found) < 2:
        return found
    boxes = np.array([d.box for d in found], np.float64)
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    inside = ((centres[:, None, :] >= boxes[None, :, :2]) & (centres[:, None, :] <= boxes[None, :, 2:])).all(-1)
    inner = (inside & (sides[None, :] >= ratio * sides[:, None])).any(1)
    return [d for d, drop in zip(found, inner) if not drop]


@register_detector("yunet")
def _yunet(**kwargs) -> YuNet:
    return YuNet(**kwargs)


_yunet.__signature__ = inspect.signature(YuNet)
