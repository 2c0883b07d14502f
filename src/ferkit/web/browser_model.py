"""In-browser mode: the page can run the same models itself with onnxruntime-web (installed from npm, served
by this app: ``ferkit serve --ort-web DIR``), falling back to the server when anything is missing.

Served here: the classifier exported to ONNX (``ferkit.export.onnx``), the BlazeFace detector's shipped ONNX
file (live video), the YuNet file of ``auto``'s photo passes (still images), and the numbers the page needs to
reproduce the pipeline (detector anchors and thresholds, alignment
template, preprocessing, labels), so that nothing is duplicated by hand in the JavaScript."""

from __future__ import annotations

import os
import threading
from pathlib import Path

# The only onnxruntime-web files served: the WebAssembly build (ES module with its loader, and the binary).
ORT_FILES = {
    "ort.wasm.bundle.min.mjs": "text/javascript; charset=utf-8",
    "ort-wasm-simd-threaded.mjs": "text/javascript; charset=utf-8",
    "ort-wasm-simd-threaded.wasm": "application/wasm",
}
ORT_ENTRY = "ort.wasm.bundle.min.mjs"


def find_ort_dist(path: str | os.PathLike | None) -> Path | None:
    """An onnxruntime-web ``dist`` folder from a given folder (the dist folder itself, the package folder, or
    a folder holding node_modules), or None when it has no WebAssembly build."""
    if not path:
        return None
    root = Path(path).expanduser()
    for candidate in (root, root / "dist", root / "node_modules" / "onnxruntime-web" / "dist"):
        if (candidate / ORT_ENTRY).is_file() and (candidate / "ort-wasm-simd-threaded.wasm").is_file():
            return candidate.resolve()
    return None


def page_detector(detector):
    """The BlazeFace the page runs: the server's own, or the first pass of "auto" (full-range BlazeFace; the
    page does not run auto's fallback passes for close-ups and tiny faces). None where the page has none."""
    from ferkit.faces.auto import AutoDetector
    from ferkit.faces.blazeface import BlazeFace

    if isinstance(detector, AutoDetector):
        return detector.full
    return detector if isinstance(detector, BlazeFace) else None


def page_photo_detector(detector):
    """The YuNet the page runs on still images: the server's own ``yunet``, or the photo passes of ``auto``."""
    from ferkit.faces.auto import AutoDetector
    from ferkit.faces.yunet import YuNet

    if isinstance(detector, AutoDetector):
        return detector.photo
    return detector if isinstance(detector, YuNet) else None


class BrowserModel:
    """What the page needs for in-browser inference, built lazily and cached."""

    def __init__(self, service, ort_dir: Path | None):
        self.service = service
        self.ort_dir = ort_dir
        self._files: dict[str, bytes] = {}
        self._onnx: bytes | None = None
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        """Why in-browser mode cannot run with this server, or None when it can."""
        rec = self.service.recognizer
        clf = rec.classifier
        if self.ort_dir is None:
            return "onnxruntime-web is not installed for this server (ferkit serve --ort-web DIR)"
        if page_detector(rec.detector) is None:
            return f"the {type(rec.detector).__name__} detector runs on the server only"
        if getattr(clf, "runtime", None) != "torch" or getattr(clf, "device", None) is None or clf.device.type != "cpu":
            return "in-browser mode exports the PyTorch model running on the CPU; this server runs another"
        pre = clf.preprocess
        if pre.illumination != "none" or pre.in_chans != 1:
            return f"preprocessing {pre.illumination!r} with {pre.in_chans} channels runs on the server only"
        return None

    def info(self) -> dict:
        problem = self.problem()
        if problem:
            return {"available": False, "reason": problem}
        from ferkit.faces.alignment import FER_TEMPLATE
        from ferkit.faces.blazeface import CONFIGS

        rec = self.service.recognizer
        det = page_detector(rec.detector)
        pre = rec.classifier.preprocess
        return {
            "available": True,
            "runtime": f"/vendor/ort/{ORT_ENTRY}",
            "wasm_path": "/vendor/ort/",
            "classifier": "/v1/browser-model/classifier.onnx",
            "labels": list(self.service.labels),
            "preprocess": pre.to_dict(),
            "temperature": float(rec.classifier.temperature),
            "template": FER_TEMPLATE.tolist(),
            "detector": {
                "url": "/v1/browser-model/detector.onnx",
                "size": det.size,
                "grids": [list(g) for g in CONFIGS[det.variant]["grids"]],
                "min_score": det.min_score,
                "iou_threshold": det.iou_threshold,
                "min_face": rec.min_face,
            },
            "photo_detector": self._photo_info(),
            "tta": getattr(rec, "tta", "none"),
        }

    def _photo_info(self) -> dict | None:
        """The YuNet passes ``auto`` runs on photos (the page runs the same ones on still images), or None when
        the server's photos go through BlazeFace alone."""
        from ferkit.faces import yunet
        from ferkit.faces.templates import template_for

        photo = page_photo_detector(self.service.recognizer.detector)
        if photo is None:
            return None
        return {
            "url": "/v1/browser-model/photo-detector.onnx",
            "min_score": photo.min_score,
            "iou_threshold": photo.iou_threshold,
            "max_side": photo.max_side,
            "max_upscale": photo.max_upscale,
            "max_pixels": photo.max_pixels,
            "close_side": photo.close_side,
            "fine_max": yunet.FINE_MAX,
            "coarse_min": yunet.COARSE_MIN,
            "inner_ratio": yunet.INNER_RATIO,
            "strides": list(yunet.STRIDES),
            "template": template_for("yunet").tolist(),  # its faces are aligned onto YuNet's own template
        }

    def photo_detector_onnx(self) -> bytes:
        from ferkit.faces.yunet import WEIGHTS

        return self._cached("photo-detector", WEIGHTS)

    def classifier_onnx(self) -> bytes:
        with self._lock:
            if self._onnx is None:
                from ferkit.export.onnx import onnx_bytes
                from ferkit.models.checkpoint import LoadedModel

                clf = self.service.recognizer.classifier
                self._onnx = onnx_bytes(
                    LoadedModel(
                        model=clf.model,
                        labels=clf.labels,
                        preprocess=clf.preprocess,
                        arch=clf.arch,
                        temperature=clf.temperature,
                    )
                )
            return self._onnx

    def detector_onnx(self) -> bytes:
        from ferkit.faces.blazeface import ASSETS

        variant = page_detector(self.service.recognizer.detector).variant
        return self._cached(f"detector:{variant}", ASSETS / f"blazeface_{variant}.onnx")

    def ort_file(self, name: str) -> bytes | None:
        if name not in ORT_FILES or self.ort_dir is None:  # a fixed list: the name never builds a path
            return None
        return self._cached(name, self.ort_dir / name)

    def _cached(self, key: str, path: Path) -> bytes:
        with self._lock:
            if key not in self._files:
                self._files[key] = path.read_bytes()
            return self._files[key]
