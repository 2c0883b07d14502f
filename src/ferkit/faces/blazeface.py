"""MediaPipe's BlazeFace face detectors in PyTorch: letterbox -> network -> anchor decoding -> weighted NMS.

Weights (converted from ``mediapipe==0.10.21``, Apache-2.0, see assets/NOTICE) ship in the package; nothing is
downloaded. ``blazeface`` is the full-range model (faces down to ~1/20 of the picture side, 192 px input,
~6 keypoints); ``blazeface_short`` the faster short-range one for selfie/webcam distance (128 px input).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import cv2
import numpy as np
import torch

from ferkit.errors import DetectorOptionError, DetectorUnavailable, ModelError
from ferkit.faces.base import FaceDetector, register_detector
from ferkit.faces.blazeface_net import VARIANTS
from ferkit.faces.options import choice, number
from ferkit.faces.types import Detection

ASSETS = Path(__file__).resolve().parent / "assets"

# Per variant: network input side, anchor grid strides with anchors per cell, score threshold (MediaPipe's).
CONFIGS = {
    "short": {"size": 128, "grids": ((8, 2), (16, 6)), "min_score": 0.5},
    "full": {"size": 192, "grids": ((4, 1),), "min_score": 0.5},
}


def anchor_centres(size: int, grids) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1], in the network's output order (row-major cells, anchors per cell).
    BlazeFace uses fixed-size anchors, so only the centres matter."""
    out = []
    for stride, per_cell in grids:
        n = size // stride
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        centres = np.stack([xs.ravel(), ys.ravel()], 1)
        out.append(np.repeat(centres, per_cell, axis=0))
    return np.concatenate(out).astype(np.float32)


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def centre_close(box: np.ndarray, boxes: np.ndarray, reach: float = 0.5, size_ratio: float = 2.0) -> np.ndarray:
    """Boxes whose centre lies within ``reach`` box sides of ``box``'s centre (on both axes) and whose side is
    within ``size_ratio`` of its side: the same face even where IoU is low. Measured on video_01.mp4 and the
    crowd photos: two boxes of one face were 0.41 sides apart (IoU 0.28), distinct faces at least 1.59."""
    side = max(box[2] - box[0], box[3] - box[1])
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    centre = (box[:2] + box[2:]) / 2
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    near = (np.abs(centres - centre) < reach * np.maximum(sides, side)[:, None]).all(1)
    ratio = np.maximum(sides, side) / np.maximum(np.minimum(sides, side), 1e-9)
    return near & (ratio < size_ratio)


def same_face_matrix(
    boxes: np.ndarray, iou_threshold: float, reach: float = 0.5, size_ratio: float = 2.0
) -> np.ndarray:
    """(N, N) bool: pairs that overlap by IoU > iou_threshold or are :func:`centre_close` (both symmetric),
    computed for all pairs at once."""
    lo = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    hi = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    wh = boxes[:, 2:] - boxes[:, :2]
    areas = wh.prod(-1)
    iou = inter / np.maximum(areas[:, None] + areas[None, :] - inter, 1e-9)
    sides = wh.max(-1)
    big = np.maximum(sides[:, None], sides[None, :])
    small = np.minimum(sides[:, None], sides[None, :])
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    near = (np.abs(centres[:, None, :] - centres[None, :, :]) < reach * big[:, :, None]).all(-1)
    return (iou > iou_threshold) | (near & (big / np.maximum(small, 1e-9) < size_ratio))


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3):
    """BlazeFace's blending NMS: each cluster of overlapping candidates becomes their score-weighted mean
    (boxes and keypoints), keeping the best score. Steadier boxes across video frames than hard NMS. A cluster
    is the best remaining candidate with those overlapping it by IoU or centred on it (:func:`centre_close`).
    The pair relations are computed once for all candidates (:func:`same_face_matrix`)."""
    order = np.argsort(-scores, kind="stable")
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    same = same_face_matrix(boxes, iou_threshold)
    alive = np.ones(len(scores), bool)
    kept = []
    for top in range(len(scores)):
        if not alive[top]:
            continue
        member = same[top] & alive
        alive &= ~member
        w = scores[member][:, None]
        total = w.sum()
        kept.append(
            ((boxes[member] * w).sum(0) / total, (keypoints[member] * w[:, :, None]).sum(0) / total, float(scores[top]))
        )
    return kept


def to_detections(
    boxes: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    shape: tuple[int, ...],
    iou_threshold: float = 0.3,
    source: str = "blazeface",
) -> list[Detection]:
    """Candidates in original pixels (from one pass or several) -> merged Detections clipped to the image,
    sorted by decreasing score; source: the detector whose keypoints these are (picks the alignment template)."""
    h, w = shape[:2]
    out = []
    if len(scores) == 0:
        return out
    for box, kps, score in weighted_nms(boxes, keypoints, scores, iou_threshold):
        box = np.clip(box, 0, [w, h, w, h]).astype(np.float32)
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        out.append(Detection(box=box, score=score, landmarks=kps.astype(np.float32), source=source))
    return out


def with_weak(
    candidates: tuple[np.ndarray, np.ndarray, np.ndarray],
    threshold: float,
    shape: tuple[int, ...],
    iou_threshold: float = 0.3,
    strong: list[Detection] | None = None,
) -> list[Detection]:
    """Detections from candidates scoring >= threshold (or the given ``strong`` ones), then the weaker
    candidates merged among themselves and kept where they overlap none of the strong ones (IoU or centre)."""
    boxes, keypoints, scores = candidates
    high = scores >= threshold
    if strong is None:
        strong = to_detections(boxes[high], keypoints[high], scores[high], shape, iou_threshold)
    weak = to_detections(boxes[~high], keypoints[~high], scores[~high], shape, iou_threshold)
    if strong and weak:
        both = same_face_matrix(np.array([d.box for d in weak + strong], np.float64), iou_threshold)
        overlaps = both[: len(weak), len(weak) :].any(1)
        weak = [d for d, o in zip(weak, overlaps) if not o]
    return strong + weak


class BlazeFace(FaceDetector):
    """variant: "full" | "short"; input_size: network side (multiple of 32 for "full", 128 for "short"),
    larger finds smaller faces at a cost growing with its square; min_score: detection threshold."""

    def __init__(
        self,
        variant: str = "full",
        input_size: int | None = None,
        min_score: float | None = None,
        iou_threshold: float = 0.3,
        backend: str = "auto",
        device: str = "cpu",
        threads: int | None = None,
    ):
        cfg = CONFIGS[choice("BlazeFace", "variant", variant, tuple(CONFIGS))]
        self.variant = variant
        self.size = number("BlazeFace", "input_size", input_size, lo=32, integer=True, optional=True) or cfg["size"]
        if variant == "short" and self.size != cfg["size"]:
            raise DetectorOptionError("BlazeFace detector: the short-range model runs at input_size 128 only")
        if self.size % 32:
            raise DetectorOptionError(f"BlazeFace detector: input_size must be a multiple of 32, not {self.size}")
        min_score = number("BlazeFace", "min_score", min_score, 0.0, 1.0, optional=True)
        self.min_score = cfg["min_score"] if min_score is None else min_score
        self.iou_threshold = number("BlazeFace", "iou_threshold", iou_threshold, 0.0, 1.0)
        threads = number("BlazeFace", "threads", threads, lo=0, integer=True, optional=True)
        choice("BlazeFace", "backend", backend, ("auto", "onnx", "torch"))
        weights = ASSETS / f"blazeface_{variant}.onnx"
        if not weights.is_file():
            raise DetectorUnavailable(f"BlazeFace weights missing: {weights}")
        if backend == "auto":
            # ONNX Runtime runs these depthwise networks 3-6x faster than PyTorch on CPU.
            backend = "onnx" if device == "cpu" and _has_onnxruntime() else "torch"
        self.backend = backend
        if backend == "onnx":
            if not _has_onnxruntime():
                raise DetectorUnavailable("BlazeFace backend 'onnx' needs onnxruntime (pip install onnxruntime)")
            self.session = _ort_session(weights, threads)
        else:
            try:
                self.device = torch.device(device)
            except (RuntimeError, TypeError):
                raise DetectorOptionError(f"BlazeFace detector: device {device!r} is not a torch device") from None
            self.net = VARIANTS[variant]()
            self.net.load_state_dict(_state_dict_from_onnx(weights))
            self.net.eval().to(self.device)
        # Offsets are in input pixels, so at another input size the anchor grid simply grows with it.
        self._anchor_cache: dict[int, np.ndarray] = {}
        self.anchors = self._anchors(self.size)

    def _run(self, canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S, S, 3) uint8 -> (score logits (N,), regressors (N, 16))."""
        if self.backend == "onnx":
            # channels first while still uint8, then scale in place: the same values as
            # (x / 127.5 - 1).transpose(...) at a sixth of the cost (0.06 vs 0.42 ms at 192 px)
            x = np.ascontiguousarray(canvas.transpose(2, 0, 1)).astype(np.float32)
            x /= np.float32(127.5)
            x -= np.float32(1.0)
            logits, raw = self.session.run(None, {"image": x[None]})
            return logits[0], raw[0]
        with torch.inference_mode():
            x = torch.from_numpy(canvas).to(self.device).permute(2, 0, 1)[None].float().div_(127.5).sub_(1.0)
            logits, raw = self.net(x)
            return logits[0].cpu().numpy(), raw[0].cpu().numpy()

    def _letterbox(self, image: np.ndarray, size: int, pad: float = 1.0) -> tuple[np.ndarray, float, int, int]:
        """The image scaled to fit ``size / pad`` and centred on a black size x size canvas."""
        h, w = image.shape[:2]
        scale = size / (max(h, w) * pad)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (nw, nh), interpolation=interp)
        pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[pad_y : pad_y + nh, pad_x : pad_x + nw] = resized
        return canvas, scale, pad_x, pad_y

    def _anchors(self, size: int) -> np.ndarray:
        if size not in self._anchor_cache:
            self._anchor_cache[size] = anchor_centres(size, CONFIGS[self.variant]["grids"])
        return self._anchor_cache[size]

    def candidates(
        self, image: np.ndarray, input_size: int | None = None, pad: float = 1.0, min_score: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw candidates above ``min_score`` (default: the detector's) before NMS, in original pixels: boxes
        (N, 4), keypoints (N, 6, 2), scores (N,). ``input_size`` overrides the network side for this call (a
        multiple of 32, full range only); ``pad`` > 1 shrinks the image inside the canvas, so a face filling
        the picture is seen at the size the full-range model was trained for."""
        size = int(input_size or self.size)
        if size != self.size and (self.variant == "short" or size % 32):
            raise ModelError(f"BlazeFace {self.variant} cannot run at input size {size}")
        canvas, scale, pad_x, pad_y = self._letterbox(image, size, max(1.0, float(pad)))
        logits, raw = self._run(canvas)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        keep = np.nonzero(scores >= (self.min_score if min_score is None else min_score))[0]
        anchors = self._anchors(size)[keep]
        raw = raw[keep]  # offsets are in input pixels
        centre = anchors * size + raw[:, 0:2]
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], 1)
        keypoints = anchors[:, None, :] * size + raw[:, 4:16].reshape(-1, 6, 2)
        # letterbox pixels -> original pixels
        offset = np.array([pad_x, pad_y], np.float32)
        boxes = (boxes.reshape(-1, 2, 2) - offset).reshape(-1, 4) / scale
        keypoints = (keypoints - offset) / scale
        return boxes, keypoints, scores[keep]

    def detect(self, image: np.ndarray) -> list[Detection]:
        return to_detections(*self.candidates(image), image.shape, self.iou_threshold)

    def detect_with_candidates(self, image: np.ndarray, min_score: float, thorough: bool = True) -> list[Detection]:
        """The detections of ``detect`` (unchanged), then weaker candidates scoring in [min_score, threshold)
        that overlap none of them, merged among themselves by the same blending NMS."""
        candidates = self.candidates(image, min_score=min(min_score, self.min_score))
        return with_weak(candidates, self.min_score, image.shape, self.iou_threshold)


def _has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _ort_session(path: Path, threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own types for unreadable files
        raise DetectorUnavailable(f"cannot load detector weights {path}: {e}") from None


def _state_dict_from_onnx(path: Path) -> dict[str, torch.Tensor]:
    """The shipped ONNX file stores the PyTorch weights under their state_dict names (float16)."""
    import json

    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    arrays = {t.name.removesuffix("_fp16"): numpy_helper.to_array(t) for t in model.graph.initializer}
    meta = {p.key: p.value for p in model.metadata_props}
    for key, source in json.loads(meta.get("state_dict_aliases", "{}")).items():
        arrays[key] = arrays[source]
    return {k: torch.from_numpy(a.astype(np.float32)) for k, a in arrays.items() if k.endswith((".weight", ".bias"))}


@register_detector("blazeface")
def _full(**kwargs) -> BlazeFace:
    return BlazeFace("full", **kwargs)


@register_detector("blazeface_short")
def _short(**kwargs) -> BlazeFace:
    return BlazeFace("short", **kwargs)


# create_detector checks argument names against these (BlazeFace's own, the variant fixed by the name)
_full.__signature__ = _short.__signature__ = inspect.signature(BlazeFace).replace(
    parameters=[p for n, p in inspect.signature(BlazeFace).parameters.items() if n != "variant"]
)


BlazeFace.name = "blazeface"
BlazeFace.crop_scale = 1.146  # measured on FER2013 (tools/estimate_face_template.py)
