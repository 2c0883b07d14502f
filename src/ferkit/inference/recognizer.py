"""The recogniser: frame -> faces (detect) -> aligned crops -> one batched forward -> probabilities -> tracks.

from ferkit import EmotionRecognizer
faces = EmotionRecognizer().predict("photo.jpg")      # list of FaceResult
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import cv2
import numpy as np

from ferkit.errors import ConfigError
from ferkit.faces.base import create_detector
from ferkit.faces.framing import FerFraming, crop_faces
from ferkit.faces.types import Detection
from ferkit.inference.classifier import load_classifier
from ferkit.inference.results import FaceResult, ImageFaces, no_face_hint
from ferkit.inference.smoothing import TemporalSmoother
from ferkit.media.images import MAX_PIXELS, as_rgb

if TYPE_CHECKING:
    from ferkit.inference.stream import RecognizerStream


BLAZEFACE_DETECTORS = ("auto", "blazeface", "blazeface_short")  # take ONNX Runtime's ``threads``
TTA_MODES = ("flip", "none")  # still images: mean of the face and its mirror image, or the face alone


def check_tta(tta: str) -> str:
    if tta not in TTA_MODES:
        raise ConfigError(f"tta must be one of {', '.join(TTA_MODES)}, not {tta!r}")
    return tta


class EmotionRecognizer:
    """model: shipped model name (default "ferplus"), a ``.pt``/``.onnx`` path or a LoadedModel;
    detector: "auto" (faces at every scale, see ferkit.faces.auto), "blazeface", "blazeface_short", "haar", "none"
    (the whole image is one face: for inputs that are face crops already) or a FaceDetector;
    runtime: "torch" | "onnx"; device: torch device for runtime="torch"; batch_size: faces per forward pass;
    min_face: ignore faces whose box is smaller than this many pixels; threads: ONNX Runtime threads for the
    detector and classifier (default 1: these networks are too small to gain from more, and measured 1.6x
    slower with 2 threads on a busy 2-core machine; None = ONNX Runtime's default).
    Video smoothing (see ferkit.inference.smoothing): smoothing in "none" | "mean" | "ema" | "feature-mean" |
    "feature-ema", window, alpha, hysteresis (label-switch margin, None = off), patience (frames).
    tta: still images (``predict``) average each face's probabilities with its mirror image's ("flip", the
    default: steadier labels for about twice the classifier cost) or not ("none"); video and live streams never
    do (speed matters there, and the tracker already smooths over frames)."""

    def __init__(
        self,
        model=None,
        detector="auto",
        runtime: str = "torch",
        device: str = "cpu",
        batch_size: int = 64,
        min_face: int = 0,
        threads: int | None = 1,
        detector_options: dict | None = None,
        smoothing: str = "ema",
        window: int = 10,
        alpha: float = 0.3,
        hysteresis: float | None = 0.1,
        patience: int = 3,
        max_pixels: int = MAX_PIXELS,
        tta: str = "flip",
    ):
        self.tta = check_tta(tta)
        self.classifier = load_classifier(model, runtime=runtime, device=device, threads=threads)
        options = dict(detector_options or {})
        if threads and isinstance(detector, str) and detector in BLAZEFACE_DETECTORS:
            options.setdefault("threads", threads)
        self.detector = create_detector(detector, **options)
        self.labels: tuple[str, ...] = tuple(self.classifier.labels)
        self.crop_size = int(self.classifier.preprocess.source_size)
        # how faces are cropped for this model: ferkit's FER framing, or what a model spec asks for
        self.framing = getattr(self.classifier, "framing", None) or FerFraming(self.crop_size)
        self.batch_size = max(1, int(batch_size))
        self.min_face = min_face
        self.max_pixels = max_pixels
        self.smoothing = dict(method=smoothing, window=window, alpha=alpha, margin=hysteresis, patience=patience)
        TemporalSmoother(**self.smoothing)  # validate now, not at the first video

    # ----- stages -------------------------------------------------------------------------------------------
    def detect(self, image, detector=None) -> list[Detection]:
        """Faces of one image with this recogniser's detector, or ``detector`` (a FaceDetector or name)."""
        rgb = as_rgb(image, self.max_pixels)
        found = create_detector(detector or self.detector).detect(rgb)
        if self.min_face:
            found = [d for d in found if min(d.width, d.height) >= self.min_face]
        return found

    def align(self, rgb: np.ndarray, detections: list[Detection], crop_scale: float | None = None):
        """Aligned crops in the model's colour (grey (N, H, W) or RGB (N, H, W, 3) uint8; H = W = S for ferkit's
        own models) and their 2x3 matrices (N, 2, 3), framed as the model asks (``framing``). crop_scale: of the
        detector that found the faces (default: this recogniser's)."""
        colour = self.classifier.preprocess.in_chans == 3
        image = rgb if colour else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        scale = self.detector.crop_scale if crop_scale is None else crop_scale
        return crop_faces(image, detections, self.framing, scale)

    def classify_crops(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 aligned crops (N, S, S) or (N, S, S, 3) -> (logits (N, L), features (N, F)), batch_size at a time."""
        if len(crops) <= self.batch_size:
            return self.classifier.forward(crops)
        parts = [self.classifier.forward(crops[i : i + self.batch_size]) for i in range(0, len(crops), self.batch_size)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def classify_probabilities(self, crops: np.ndarray, tta: str = "none") -> np.ndarray:
        """Aligned crops -> calibrated probabilities (N, L); tta="flip": the mean of each crop's and its mirror
        image's (both go through the network in one batch)."""
        if check_tta(tta) == "flip" and len(crops):
            both = self.classifier.probabilities(self.classify_crops(np.concatenate([crops, crops[:, :, ::-1]]))[0])
            return (both[: len(crops)] + both[len(crops) :]) / 2
        return self.classifier.probabilities(self.classify_crops(crops)[0])

    def face_results(self, detections, matrices, probs, labels_idx=None, track_ids=None, raw=None) -> list[FaceResult]:
        """One FaceResult per detection: its box, keypoints and alignment matrix with the probabilities ``probs``
        (N, L) in this model's label order. ``labels_idx``: the decided label per face (default the most
        probable); ``track_ids``: per face (streams); ``raw``: the unsmoothed probabilities (streams)."""
        out = []
        for i, d in enumerate(detections):
            p = probs[i]
            k = int(np.argmax(p)) if labels_idx is None else labels_idx[i]
            out.append(
                FaceResult(
                    box=d.box,
                    score=d.score,
                    landmarks=d.landmarks,
                    matrix=matrices[i],
                    probabilities=dict(zip(self.labels, map(float, p))),
                    label=self.labels[k],
                    track_id=None if track_ids is None else track_ids[i],
                    raw_probabilities=None if raw is None else dict(zip(self.labels, map(float, raw[i]))),
                )
            )
        return out

    # ----- public API ---------------------------------------------------------------------------------------
    def predict(self, image, detector=None, tta: str | None = None) -> ImageFaces:
        """One image (path, PIL image or RGB uint8 array) -> one FaceResult per face, as a list whose ``hint``
        says why it is empty when the image looks like a face crop. ``detector``: this call only (e.g. "none"
        for a face crop; a name builds the detector each call, an instance is reused). ``tta``: "flip" (mean
        with the mirror image) or "none" for this call; default the recogniser's (``flip`` unless told)."""
        return self.predict_batch([image], detector, tta)[0]

    def predict_batch(self, images: Iterable, detector=None, tta: str | None = None) -> list[ImageFaces]:
        """Several images; the faces of all of them go through the network together."""
        tta = check_tta(self.tta if tta is None else tta)
        detector = create_detector(detector or self.detector)
        per_image = []
        for image in images:
            rgb = as_rgb(image, self.max_pixels)
            dets = self.detect(rgb, detector)
            crops, matrices = self.align(rgb, dets, detector.crop_scale)
            hint = no_face_hint(rgb.shape) if not dets else None
            per_image.append((dets, crops, matrices, hint))
        all_crops = [c for _, c, _, _ in per_image if len(c)]
        probs = self.classify_probabilities(np.concatenate(all_crops), tta) if all_crops else None
        out, start = [], 0
        for dets, crops, matrices, hint in per_image:
            faces = self.face_results(dets, matrices, probs[start : start + len(crops)]) if len(crops) else []
            out.append(ImageFaces(faces, hint))
            start += len(crops)
        return out

    def stream(self, detect_every: int = 1, detector=None) -> RecognizerStream:
        """A stream of frames from one source: ``.step(rgb) -> FrameResult`` (faces tracked, probabilities
        smoothed per track) and ``.reset()``. detect_every: run the detector on every k-th frame only and carry
        the tracks in between. detector: this stream's face detector (name or instance; default the
        recogniser's). Each stream keeps its own state; the recogniser (models) is shared."""
        from ferkit.inference.stream import RecognizerStream

        return RecognizerStream(self, detect_every=detect_every, detector=detector)

    def predict_video(
        self,
        source: str | int | os.PathLike,
        every_n_frames: int = 1,
        return_frames: bool = False,
        max_frames: int | None = None,
        detect_every: int = 1,
        duration: float | None = None,
        detector=None,
    ):
        """Yield a FrameResult per analysed frame (every ``every_n_frames``-th), faces tracked (``track_id``) and
        their probabilities aggregated per track. With ``return_frames`` yield ``(FrameResult, rgb)`` for every
        decoded frame; skipped frames carry the last faces and ``analysed=False``. ``source``: a video file, a
        camera index or a stream URL (live sources drop frames when analysis is slower). Undecodable frames are
        read past. The returned iterator also reports ``info`` (fps, size, frame count), and once iterated
        ``skipped_frames``, ``truncated`` and ``dropped_frames``. max_frames / duration (seconds of video) stop
        it early. detector: for this video only (name or instance; default the recogniser's)."""
        from ferkit.inference.video_run import VideoRun

        return VideoRun(
            self,
            source,
            every_n_frames=every_n_frames,
            return_frames=return_frames,
            max_frames=max_frames,
            detect_every=detect_every,
            duration=duration,
            detector=detector,
        )
