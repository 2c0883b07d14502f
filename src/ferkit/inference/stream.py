"""One stream of frames through the recogniser: detection, tracking, per-track smoothing, one frame at a time.

    stream = recognizer.stream()            # or stream(detect_every=3)
    for rgb in frames:
        result = stream.step(rgb)            # FrameResult: faces with track ids and smoothed probabilities
    stream.reset()                           # forget tracks (a new scene, a new client)

``predict_video``, ``ferkit predict`` / ``ferkit webcam`` and the web page's live socket all use this object, so
every way in gives the same tracks and probabilities.
"""

from __future__ import annotations

import numpy as np

from ferkit.faces import create_detector
from ferkit.faces.tracking import ByteTracker, TrackedFace
from ferkit.faces.types import Detection
from ferkit.inference.results import FaceResult, FrameResult
from ferkit.inference.smoothing import TemporalSmoother

# Weak detections down to this score keep an existing track alive (they never start one).
LOW_SCORE = 0.2
# While detections find no face (an empty scene), a multi-pass detector (``auto``) runs its costly fallback
# passes (close-ups, small faces) on every this-many-th detection only, its first pass on the others: an empty
# frame costs ~1 pass instead of ~6, and a face that only a fallback pass sees (a selfie) is found within this
# many detections; once faces are found, every detection is thorough again.
THOROUGH_EVERY = 5


def _carried(last: Detection, box: np.ndarray) -> Detection:
    """Move a track's last detection (box and keypoints) to the box its motion model predicts now."""
    old = np.asarray(last.box, np.float64)
    scale = max(box[2] - box[0], 1e-3) / max(old[2] - old[0], 1e-3)
    landmarks = None
    if last.landmarks is not None:
        landmarks = ((last.landmarks - old[:2]) * scale + box[:2]).astype(np.float32)
    return Detection(box=box.astype(np.float32), score=last.score, landmarks=landmarks, source=last.source)


class RecognizerStream:
    """Per-stream state over a shared EmotionRecognizer. A new face is tentative (``track_id`` None) until the
    tracker confirms it (a few frames in a row); then the FaceResults of its tentative frames get its id too.
    detect_every: run the detector on every k-th step
    only; between detections the tracks' motion model carries each face (box, keypoints and so the alignment)
    and the classifier still runs on the carried crops. low_score: weakest detection that may continue a
    track (the detector's own threshold still decides which faces start one)."""

    def __init__(self, recognizer, detect_every: int = 1, low_score: float = LOW_SCORE, detector=None):
        if int(detect_every) < 1:
            raise ValueError(f"detect_every must be >= 1, not {detect_every}")
        self.recognizer = recognizer
        # this stream's detector (a name or an instance, e.g. "none" for a feed of face crops); default the
        # recogniser's own
        self.detector = recognizer.detector if detector is None else create_detector(detector)
        self.detect_every = int(detect_every)
        self.low_score = float(low_score)
        self.reset()

    def reset(self) -> None:
        """Forget every track and its smoothing state; the next step starts afresh (frame numbering too)."""
        high = getattr(self.detector, "min_score", None)
        self.tracker = ByteTracker(high=float(high) if high is not None else float("-inf"))
        self.smoother = TemporalSmoother(**self.recognizer.smoothing)
        self.last: dict[int, Detection] = {}
        self.pending: dict[int, list[FaceResult]] = {}  # faces of tracks not confirmed yet
        self.frames = 0
        self.misses = 0  # detections in a row that found no face

    def _detect(self, rgb: np.ndarray) -> list[Detection]:
        rec = self.recognizer
        thorough = self.misses % THOROUGH_EVERY == 0
        found = self.detector.detect_with_candidates(rgb, self.low_score, thorough=thorough)
        high = getattr(self.detector, "min_score", None)
        strong = any(d.score >= high for d in found) if high is not None else bool(found)
        self.misses = 0 if strong else self.misses + 1
        if rec.min_face:
            found = [d for d in found if min(d.width, d.height) >= rec.min_face]
        return found

    def step(self, rgb: np.ndarray, index: int | None = None, time: float | None = None) -> FrameResult:
        """One RGB uint8 frame -> its FrameResult. index/time default to the step count (and count / 30 s)."""
        frame = self.frames if index is None else int(index)
        t = frame / 30.0 if time is None else float(time)
        detect_now = self.frames % self.detect_every == 0
        self.frames += 1
        if detect_now:
            dets = self._detect(rgb)
            step = self.tracker.update(np.array([d.box for d in dets]).reshape(-1, 4), [d.score for d in dets])
            for face in step.faces:
                self.last[face.key] = dets[face.detection]
            shown = [(f, dets[f.detection]) for f in step.faces]
        else:
            step = self.tracker.carry()
            shown = [(f, _carried(self.last[f.key], f.box)) for f in step.faces if f.key in self.last]
        for key in step.ended:
            self.last.pop(key, None)
            self.pending.pop(key, None)
        self.smoother.drop(step.ended)
        return FrameResult(frame, t, self._classify(rgb, shown))

    def _classify(self, rgb: np.ndarray, shown: list[tuple[TrackedFace, Detection]]) -> list[FaceResult]:
        if not shown:
            return []
        rec = self.recognizer
        dets = [d for _, d in shown]
        keys = [f.key for f, _ in shown]
        crops, matrices = rec.align(rgb, dets, self.detector.crop_scale)  # framed for this stream's detector
        logits, features = rec.classify_crops(crops)
        raw = rec.classifier.probabilities(logits)  # calibrated: softmax(logits / T)
        if self.smoother.feature_level:
            agg = np.stack([self.smoother.aggregate(k, f) for k, f in zip(keys, features)])
            probs = rec.classifier.probabilities(rec.classifier.head(agg.astype(np.float32)))
        else:
            probs = np.stack([self.smoother.aggregate(k, p) for k, p in zip(keys, raw)])
        labels = [self.smoother.decide(k, p) for k, p in zip(keys, probs)]
        faces = rec.face_results(dets, matrices, probs, labels, [f.track_id for f, _ in shown], raw)
        for (tracked, _), face in zip(shown, faces):
            if tracked.track_id is None:
                self.pending.setdefault(tracked.key, []).append(face)
            elif tracked.key in self.pending:
                # confirmed now: the results of its tentative frames get the id too (their FaceResult objects;
                # what was already serialised, such as --jsonl lines, keeps null)
                for earlier in self.pending.pop(tracked.key):
                    earlier.track_id = tracked.track_id
        return faces
