"""The default detector: faces at every scale, from small faces in crowds to faces filling the picture.

Photos (``detect``) go through YuNet (:mod:`ferkit.faces.yunet`, made for small faces) twice, passes chosen by
image size rather than by what an earlier pass found: once on the image with its longer side at ``max_side``
(1920 px; enlarged at most 2x, and shrunk further to at most ``max_pixels``, 1920 x 1200 = 2.3 million, as
the pass's cost grows with them), which sees faces from about 20 px up to YuNet's ~300 px, and once on the image
shrunk to ``close_side`` (320 px), which sees the faces too large for the first pass (close-ups, selfies, tight crops).
The candidates of both are merged by weighted NMS, so a small group beside a close-up keeps all its faces
(measured by ``benchmarks/bench_detection.py``: docs/guide/detection.md).

Video and live streams (``detect_with_candidates``) keep the cheaper BlazeFace design, where a frame whose first
pass finds a face costs that pass alone (every frame of video_01.mp4). Full-range BlazeFace (192 px input) finds
faces from ~1/12 to ~2/3 of the picture side; where it finds nothing, passes made for the other cases run,
cheapest first, until one finds a face:

1. short-range BlazeFace on the image (128 px input, ~0.4x the cost), kept for faces >= 1/5 of the side;
2. full-range on the image shrunk into a zero-padded canvas twice its side, kept for faces >= 1/3 of the side:
   close-ups short-range misses;
3. the same with a canvas three times the side, kept for faces >= 1/2 of the side that short-range also saw
   (below its threshold): the hardest close-ups (a grey tight crop of a bearded face in glasses);
4. full-range at 384 px input (~4x the cost), kept for faces <= 1/6 of the side and >= 20 px, each confirmed by
   full-range on a crop three times the face's side around it (false small faces rarely survive both views).

Each pass merges its candidates by weighted NMS, so one face gives one box. The size limits (face side / longer
image side) come from the scale sweep of tests/faces/test_scales.py and face-free crops of the sample photos:
outside them a pass found no face the others missed, only false ones. Where YuNet cannot run (its weights or
ONNX Runtime missing) photos go through the BlazeFace design too.
"""

from __future__ import annotations

import inspect

import numpy as np

from ferkit.errors import DetectorOptionError, DetectorUnavailable
from ferkit.faces.base import FaceDetector, register_detector
from ferkit.faces.blazeface import BlazeFace, centre_close, iou_one_to_many, to_detections, with_weak
from ferkit.faces.options import number
from ferkit.faces.types import Detection
from ferkit.faces.yunet import YuNet

SHORT_MIN, PAD_MIN, WIDE_PAD_MIN, SMALL_MAX = 0.2, 1 / 3, 0.5, 1 / 6
# Small-face pass: faces under this many pixels were all false on face-free crops (and carry too little for
# an expression anyway).
SMALL_MIN_PIXELS = 20
# The first photo pass sees at most this many pixels (1920 x 1200): its cost grows with them (about 40 ns each
# on one core), and a 1600 x 1000 picture still gets the 1.2x enlargement its ~25-px faces need.
PHOTO_MAX_PIXELS = 1920 * 1200
# Short-range candidates down to this score may confirm a face found on the wide canvas.
SHORT_CONFIRM_SCORE = 0.3


def _overlaps(box: np.ndarray, others: list[Detection], iou_threshold: float) -> bool:
    if not others:
        return False
    boxes = np.array([d.box for d in others])
    return bool(((iou_one_to_many(box, boxes) > iou_threshold) | centre_close(box, boxes)).any())


class AutoDetector(FaceDetector):
    """Photos: max_side and close_side, the image sides of the two YuNet passes (the first enlarges an image by
    at most max_upscale and sees at most max_pixels pixels, 0 = no limit; close_side 0 = no close-up pass);
    photo_min_score: YuNet's threshold. Streams: pad: canvas
    side / image side of the
    close-up pass (the second one uses 1.5x that); small_input: network side of the small-face pass (0 = no such
    pass); short_min_score: threshold of the short-range pass. Other arguments as
    :class:`~ferkit.faces.blazeface.BlazeFace`."""

    name = "auto"
    crop_scale = BlazeFace.crop_scale

    def __init__(
        self,
        min_score: float | None = None,
        iou_threshold: float = 0.3,
        pad: float = 2.0,
        small_input: int = 384,
        short_min_score: float = 0.55,
        backend: str = "auto",
        device: str = "cpu",
        threads: int | None = None,
        max_side: int = 1920,
        close_side: int = 320,
        max_upscale: float = 2.0,
        photo_min_score: float = 0.6,
        max_pixels: int = PHOTO_MAX_PIXELS,
    ):
        pad = number("auto", "pad", pad, lo=1.0)
        small_input = number("auto", "small_input", small_input, lo=0, integer=True)
        if small_input % 32:
            raise DetectorOptionError(f"auto detector: small_input must be a multiple of 32, not {small_input}")
        short_min_score = number("auto", "short_min_score", short_min_score, 0.0, 1.0)
        common = dict(min_score=min_score, iou_threshold=iou_threshold, backend=backend, device=device, threads=threads)
        self.full = BlazeFace("full", **common)
        self.short = BlazeFace("short", **common)
        # Short-range's false positives on the scale sweep scored 0.50-0.52, its true faces 0.60 and up
        # (1st percentile); what it drops at 0.55 the next passes still find.
        self.short_min_score = max(short_min_score, self.short.min_score)
        self.pad, self.small_input, self.iou_threshold = float(pad), int(small_input), iou_threshold
        self.min_score = self.full.min_score  # what starts a track (RecognizerStream reads it)
        self.last_passes = 0  # passes the last detect() ran (for benchmarks and tests)
        try:
            self.photo = YuNet(
                min_score=photo_min_score,
                iou_threshold=iou_threshold,
                max_side=max_side,
                close_side=close_side,
                max_upscale=max_upscale,
                max_pixels=max_pixels,
                threads=threads,
            )
        except DetectorUnavailable:
            self.photo = None  # photos go through the BlazeFace passes, as streams do

    def _merged(self, candidates, image: np.ndarray, lo: float = 0.0, hi: float = np.inf) -> list[Detection]:
        """One pass's candidates -> Detections whose side is within [lo, hi] of the longer image side."""
        side = max(image.shape[:2])
        return [
            d
            for d in to_detections(*candidates, image.shape, self.iou_threshold)
            if lo <= max(d.width, d.height) / side <= hi
        ]

    def _confirmed(self, image: np.ndarray, det: Detection) -> bool:
        """Full-range at its usual input on a crop 3x the face's side around it finds the same face."""
        h, w = image.shape[:2]
        reach = max(det.width, det.height) * 1.5
        cx, cy = (det.box[0] + det.box[2]) / 2, (det.box[1] + det.box[3]) / 2
        x0, y0 = int(max(0, cx - reach)), int(max(0, cy - reach))
        x1, y1 = int(min(w, cx + reach + 1)), int(min(h, cy + reach + 1))
        again = to_detections(*self.full.candidates(image[y0:y1, x0:x1]), (y1 - y0, x1 - x0), self.iou_threshold)
        for d in again:
            d.box = d.box + np.array([x0, y0, x0, y0], np.float32)
        return _overlaps(det.box, again, self.iou_threshold)

    def detect(self, image: np.ndarray) -> list[Detection]:
        """A photo's faces: the YuNet passes of the module docstring (BlazeFace's where YuNet cannot run)."""
        if self.photo is None:
            return self.detect_with_candidates(image, self.min_score)
        self.last_passes = 2 if self.photo.close_side else 1
        return self.photo.detect(image)

    def detect_with_candidates(self, image: np.ndarray, min_score: float, thorough: bool = True) -> list[Detection]:
        """``detect`` plus full-range candidates scoring in [min_score, threshold) that overlap none of its faces
        (weak detections that keep a video track alive). thorough=False: the full-range pass only, no fallback
        passes where it finds nothing (what a video stream asks for on most frames of an empty scene)."""
        candidates = self.full.candidates(image, min_score=min(min_score, self.min_score))
        strong = candidates[2] >= self.min_score
        self.last_passes = 1
        found = self._merged(tuple(c[strong] for c in candidates), image)
        if not found and thorough:
            found = self._fallbacks(image)
        return with_weak(candidates, self.min_score, image.shape, self.iou_threshold, strong=found)

    def _fallbacks(self, image: np.ndarray) -> list[Detection]:
        """Passes 2-5 of the module docstring, each only where the ones before found nothing."""
        self.last_passes += 1
        boxes, kps, scores = self.short.candidates(image, min_score=min(SHORT_CONFIRM_SCORE, self.short_min_score))
        sure = scores >= self.short_min_score
        found = self._merged((boxes[sure], kps[sure], scores[sure]), image, lo=SHORT_MIN)
        if found:
            return found
        self.last_passes += 1
        found = self._merged(self.full.candidates(image, pad=self.pad), image, lo=PAD_MIN)
        if found:
            return found
        self.last_passes += 1
        weak_short = self._merged((boxes, kps, scores), image, lo=SHORT_MIN)
        found = [
            d
            for d in self._merged(self.full.candidates(image, pad=1.5 * self.pad), image, lo=WIDE_PAD_MIN)
            if _overlaps(d.box, weak_short, self.iou_threshold)
        ]
        if found or not self.small_input:
            return found
        self.last_passes += 1
        return [
            d
            for d in self._merged(self.full.candidates(image, input_size=self.small_input), image, hi=SMALL_MAX)
            if min(d.width, d.height) >= SMALL_MIN_PIXELS and self._confirmed(image, d)
        ]


@register_detector("auto")
def _auto(**kwargs) -> FaceDetector:
    """The default: AutoDetector, or OpenCV's Haar cascade where BlazeFace cannot run (its weights or runtime
    missing). Bad arguments are errors, never a reason to fall back."""
    try:
        return AutoDetector(**kwargs)
    except DetectorUnavailable:
        from ferkit.faces.haar import HaarDetector

        return HaarDetector()


_auto.__signature__ = inspect.signature(AutoDetector)  # create_detector checks argument names against it
