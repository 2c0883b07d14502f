"""Result records of the recogniser. Coordinates are original-image pixels; probabilities are per label name."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _r(x, nd: int = 2):
    return [round(float(v), nd) for v in np.asarray(x).reshape(-1)]


@dataclass
class FaceResult:
    box: np.ndarray  # (x1, y1, x2, y2)
    score: float  # detection score
    probabilities: dict[str, float]  # what is shown: per-frame, or aggregated over the track in video
    label: str
    landmarks: np.ndarray | None = None  # (K, 2) in ferkit.faces.LANDMARK_NAMES order
    track_id: int | None = None
    matrix: np.ndarray | None = None  # 2x3 alignment matrix, original -> crop pixels
    raw_probabilities: dict[str, float] | None = None  # this frame alone, when aggregated over a track

    @property
    def probability(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict:
        d = {
            "box": _r(self.box, 1),
            "landmarks": [_r(p, 1) for p in self.landmarks] if self.landmarks is not None else None,
            "score": round(float(self.score), 4),
            "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()},
            "label": self.label,
            "track_id": self.track_id,
        }
        if self.raw_probabilities is not None:
            d["raw_probabilities"] = {k: round(float(v), 4) for k, v in self.raw_probabilities.items()}
        return d


class ImageFaces(list):
    """The FaceResults of one image (a plain list to callers) and ``hint``: a sentence saying why no face was
    found where the image itself looks like a face crop, else None."""

    def __init__(self, faces=(), hint: str | None = None):
        super().__init__(faces)
        self.hint = hint


# An image no larger than this, and no more elongated, may itself be a face crop (FER2013 48x48, CK+ 640x490
# frames cropped to the face, 350x350 portraits): when no face is found in it, the result says so.
FACE_SIZED_MAX_SIDE = 512
FACE_SIZED_MAX_ASPECT = 1.5


def no_face_hint(shape: tuple[int, ...]) -> str | None:
    """The hint for an image of this shape in which no face was found (None if it does not look face-sized)."""
    h, w = shape[:2]
    if not h or not w or max(h, w) > FACE_SIZED_MAX_SIDE or max(h, w) / min(h, w) > FACE_SIZED_MAX_ASPECT:
        return None
    return (
        f"no face found in this {w}x{h} image; if it is already a face crop, use detector 'none' "
        "(--detector none) to classify the whole image as one face"
    )


@dataclass
class FrameResult:
    frame: int
    time: float
    faces: list[FaceResult] = field(default_factory=list)
    analysed: bool = True  # False for frames skipped by every_n_frames (faces carried from the last one)

    def to_dict(self) -> dict:
        return {"frame": self.frame, "time": round(self.time, 3), "faces": [f.to_dict() for f in self.faces]}


@dataclass
class TrackSummary:
    """One face track over a video: first/last frame and time, frames seen, mean probabilities, the dominant
    label (of the mean probabilities) and each label's share of the frames where it was the shown label."""

    track_id: int
    frames: int
    first_frame: int
    last_frame: int
    probabilities: dict[str, float]
    label: str
    first_time: float = 0.0
    last_time: float = 0.0
    label_shares: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "track_id": self.track_id,
            "frames": self.frames,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "first_time": round(self.first_time, 3),
            "last_time": round(self.last_time, 3),
            "label": self.label,
            "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()},
            "label_shares": {k: round(float(v), 4) for k, v in self.label_shares.items()},
        }


def summarise_tracks(frames: list[FrameResult]) -> list[TrackSummary]:
    """Per-track summary over analysed frames: mean of the per-frame probabilities, dominant label, share of
    frames per shown label, first/last frame and time."""
    acc: dict[int, dict] = {}
    for fr in frames:
        if not fr.analysed:
            continue
        for face in fr.faces:
            if face.track_id is None:
                continue
            probs = face.raw_probabilities or face.probabilities
            a = acc.setdefault(
                face.track_id,
                {
                    "n": 0,
                    "first": fr.frame,
                    "t0": fr.time,
                    "sum": dict.fromkeys(probs, 0.0),
                    "shown": dict.fromkeys(probs, 0),
                },
            )
            a["n"] += 1
            a["last"], a["t1"] = fr.frame, fr.time
            a["shown"][face.label] = a["shown"].get(face.label, 0) + 1
            for k, v in probs.items():
                a["sum"][k] += v
    out = []
    for tid, a in sorted(acc.items()):
        mean = {k: v / a["n"] for k, v in a["sum"].items()}
        shares = {k: v / a["n"] for k, v in a["shown"].items()}
        out.append(
            TrackSummary(tid, a["n"], a["first"], a["last"], mean, max(mean, key=mean.get), a["t0"], a["t1"], shares)
        )
    return out
