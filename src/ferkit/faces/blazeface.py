"""MediaPipe's BlazeFace face detectors in PyTorch: letterbox -> network -> anchor decoding -> weighted NMS.

Weights (converted from ``mediapipe==0.10.21``, Apache-2.0, see assets/NOTICE) ship in the package; nothing is
downloaded. ``blazeface`` is the full-range model (faces down to ~1/20 of the picture side, 192 px input,
~6 keypoints); ``blazeface_short`` the faster short-range one for selfie/webcam distance (128 px input).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from ferkit.errors import ModelError
from ferkit.faces.base import FaceDetector, register_detector
from ferkit.faces.blazeface_net import VARIANTS
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


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3):
    """BlazeFace's blending NMS: each cluster of overlapping candidates becomes their score-weighted mean
    (boxes and keypoints), keeping the best score. Steadier boxes across video frames than hard NMS."""
    order = np.argsort(-scores)
    boxes, keypoints, scores = boxes[order], keypoints[order], scores[order]
    remaining = np.arange(len(scores))
    kept = []
    while remaining.size:
        overlap = iou_one_to_many(boxes[remaining[0]], boxes[remaining])
        cluster = remaining[overlap > iou_threshold]
        w = scores[cluster][:, None]
        kept.append(((boxes[cluster] * w).sum(0) / w.sum(), (keypoints[cluster] * w[:, :, None]).sum(0) / w.sum(),
                     float(scores[cluster[0]])))
        remaining = remaining[overlap <= iou_threshold]
    return kept


class BlazeFace(FaceDetector):
    """variant: "full" | "short"; input_size: network side (multiple of 32 for "full", 128 for "short"),
    larger finds smaller faces at a cost growing with its square; min_score: detection threshold."""

    def __init__(self, variant: str = "full", input_size: int | None = None, min_score: float | None = None,
                 iou_threshold: float = 0.3, backend: str = "auto", device: str = "cpu", threads: int | None = None):
        if variant not in CONFIGS:
            raise ModelError(f"BlazeFace variant must be one of {sorted(CONFIGS)}, not {variant!r}")
        cfg = CONFIGS[variant]
        self.variant = variant
        self.size = int(input_size or cfg["size"])
        if variant == "short" and self.size != cfg["size"]:
            raise ModelError("the short-range BlazeFace runs at 128x128 only")
        if self.size % 32:
            raise ModelError(f"BlazeFace input_size must be a multiple of 32, not {self.size}")
        self.min_score = cfg["min_score"] if min_score is None else float(min_score)
        self.iou_threshold = iou_threshold
        weights = ASSETS / f"blazeface_{variant}.onnx"
        if not weights.is_file():
            raise ModelError(f"BlazeFace weights missing: {weights}")
        if backend == "auto":
            # ONNX Runtime runs these depthwise networks 3-6x faster than PyTorch on CPU.
            backend = "onnx" if device == "cpu" and _has_onnxruntime() else "torch"
        self.backend = backend
        if backend == "onnx":
            self.session = _ort_session(weights, threads)
        elif backend == "torch":
            self.device = torch.device(device)
            self.net = VARIANTS[variant]()
            self.net.load_state_dict(_state_dict_from_onnx(weights))
            self.net.eval().to(self.device)
        else:
            raise ModelError(f"BlazeFace backend must be 'auto', 'onnx' or 'torch', not {backend!r}")
        # Offsets are in input pixels, so at another input size the anchor grid simply grows with it.
        self.anchors = anchor_centres(self.size, cfg["grids"])

    def _run(self, canvas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(S, S, 3) uint8 -> (score logits (N,), regressors (N, 16))."""
        if self.backend == "onnx":
            x = (canvas.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)[None]
            logits, raw = self.session.run(None, {"image": np.ascontiguousarray(x)})
            return logits[0], raw[0]
        with torch.inference_mode():
            x = torch.from_numpy(canvas).to(self.device).permute(2, 0, 1)[None].float().div_(127.5).sub_(1.0)
            logits, raw = self.net(x)
            return logits[0].cpu().numpy(), raw[0].cpu().numpy()

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        h, w = image.shape[:2]
        scale = self.size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(image, (nw, nh), interpolation=interp)
        pad_x, pad_y = (self.size - nw) // 2, (self.size - nh) // 2
        canvas = np.zeros((self.size, self.size, 3), np.uint8)
        canvas[pad_y:pad_y + nh, pad_x:pad_x + nw] = resized
        return canvas, scale, pad_x, pad_y

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.detect_with_candidates(image, self.min_score)

    def detect_with_candidates(self, image: np.ndarray, min_score: float) -> list[Detection]:
        """The detections of ``detect`` (unchanged), then weaker candidates scoring in [min_score, threshold)
        that overlap none of them, merged among themselves by the same blending NMS."""
        canvas, scale, pad_x, pad_y = self._letterbox(image)
        logits, raw = self._run(canvas)
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits, -80.0, 80.0)))
        strong = self._decode(image, raw, scores, np.nonzero(scores >= self.min_score)[0], scale, pad_x, pad_y)
        if min_score >= self.min_score:
            return strong
        weak = self._decode(image, raw, scores, np.nonzero((scores >= min_score) & (scores < self.min_score))[0],
                            scale, pad_x, pad_y)
        if strong and weak:
            from ferkit.faces.tracking import iou_matrix

            overlap = iou_matrix(np.array([d.box for d in weak]), np.array([d.box for d in strong])).max(1)
            weak = [d for d, o in zip(weak, overlap) if o <= self.iou_threshold]
        return strong + weak

    def _decode(self, image, raw, scores, keep, scale, pad_x, pad_y) -> list[Detection]:
        if keep.size == 0:
            return []
        raw = raw[keep] / self.size  # offsets are in input pixels
        anchors = self.anchors[keep]
        centre = anchors + raw[:, 0:2]
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], 1)
        keypoints = anchors[:, None, :] + raw[:, 4:16].reshape(-1, 6, 2)
        h, w = image.shape[:2]
        out = []
        for box, kps, score in weighted_nms(boxes, keypoints, scores[keep], self.iou_threshold):
            # normalised letterbox coordinates -> original pixels
            box = (box.reshape(2, 2) * self.size - (pad_x, pad_y)) / scale
            kps = (kps * self.size - (pad_x, pad_y)) / scale
            box = np.clip(box.reshape(4), 0, [w, h, w, h]).astype(np.float32)
            if box[2] - box[0] < 2 or box[3] - box[1] < 2:
                continue
            out.append(Detection(box=box, score=score, landmarks=kps.astype(np.float32)))
        return out


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
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


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
    return {k: torch.from_numpy(a.astype(np.float32)) for k, a in arrays.items()
            if k.endswith((".weight", ".bias"))}


@register_detector("blazeface")
def _full(**kwargs) -> BlazeFace:
    return BlazeFace("full", **kwargs)


@register_detector("blazeface_short")
def _short(**kwargs) -> BlazeFace:
    return BlazeFace("short", **kwargs)


BlazeFace.name = "blazeface"
BlazeFace.crop_scale = 1.146  # measured on FER2013 (tools/estimate_face_template.py)
