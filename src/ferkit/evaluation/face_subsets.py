"""Hard-case subsets of a test split, chosen by the face pipeline (seed 004 reports RAN on occlusion and
large-pose subsets of FERPlus test).

Each 48x48 crop is padded, run through the short-range BlazeFace, and its six keypoints give
* roll: the angle of the line between the eyes;
* yaw: from how far the nose sits between the two ear points. For a round head turned by yaw y the nose
  projects to r*sin(y) and the ears to +-r*cos(y), so (d_right - d_left) / (d_right + d_left) = tan(y).
  The ratio is bounded by 1, so the estimate saturates at 45 degrees (the far ear is then behind the nose).
Subsets:
* ``pose``: detected faces with |yaw| or |roll| at or above the thresholds (30 degrees by default);
* ``occlusion``: faces the detector misses or scores low. This is a proxy: occluders (hands, hair, glasses,
  masks) lower the detector's confidence, but so do blur and extreme lighting;
* ``frontal``: detected, confident, |yaw| < 15 and |roll| < 10 degrees: the easy complement.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from tqdm import tqdm

FACE_SUBSETS = ("pose", "occlusion", "frontal")


@dataclass
class FaceGeometry:
    """Per image: detected (bool), detector score (0 when missed), roll and yaw in degrees (NaN when missed)."""

    detected: np.ndarray
    score: np.ndarray
    roll: np.ndarray
    yaw: np.ndarray


def keypoint_pose(landmarks: np.ndarray) -> tuple[float, float]:
    """(6, 2) keypoints in LANDMARK_NAMES order -> (roll, yaw) in degrees. Positive yaw: the nose is nearer the
    subject's left ear (the image's right)."""
    right_eye, left_eye, nose, _mouth, right_ear, left_ear = np.asarray(landmarks, np.float64)[:6]
    dx, dy = left_eye - right_eye
    roll = np.degrees(np.arctan2(dy, dx))
    # measure horizontal distances along the eye line, so roll does not leak into yaw
    axis = np.array([dx, dy]) / max(np.hypot(dx, dy), 1e-6)
    d_right = abs(float((nose - right_ear) @ axis))
    d_left = abs(float((left_ear - nose) @ axis))
    ratio = (d_right - d_left) / max(d_right + d_left, 1e-6)
    return float(roll), float(np.degrees(np.arctan(ratio)))


def estimate_geometry(
    images: np.ndarray, detector=None, pad: float = 0.5, progress: bool | None = None
) -> FaceGeometry:
    """images: (N, H, W) uint8 face crops. Each is padded by ``pad`` of its side (replicated border) so the face
    fills the part of the frame the short-range detector expects, then upscaled to 128x128."""
    if detector is None:
        from ferkit.faces import create_detector

        detector = create_detector("blazeface_short", threads=1)
    n = len(images)
    detected = np.zeros(n, bool)
    score = np.zeros(n, np.float32)
    roll = np.full(n, np.nan, np.float32)
    yaw = np.full(n, np.nan, np.float32)
    # tqdm's disable=None: a bar only on a terminal
    for i in tqdm(range(n), desc="face geometry", unit="img", disable=None if progress is None else not progress):
        img = images[i]
        p = int(round(img.shape[0] * pad))
        canvas = cv2.copyMakeBorder(img, p, p, p, p, cv2.BORDER_REPLICATE)
        canvas = cv2.resize(canvas, (128, 128), interpolation=cv2.INTER_LINEAR)
        found = detector(cv2.cvtColor(canvas, cv2.COLOR_GRAY2RGB) if canvas.ndim == 2 else canvas)
        if not found:
            continue
        best = max(found, key=lambda d: d.score)
        detected[i], score[i] = True, best.score
        if best.landmarks is not None and len(best.landmarks) >= 6:
            roll[i], yaw[i] = keypoint_pose(best.landmarks)
    return FaceGeometry(detected, score, roll, yaw)


def select(geometry: FaceGeometry, subset: str, pose_deg: float = 30.0, min_score: float = 0.6) -> np.ndarray:
    """Indices of the images in ``subset`` (one of FACE_SUBSETS)."""
    g = geometry
    with np.errstate(invalid="ignore"):  # NaN angles of missed faces compare False
        if subset == "pose":
            mask = g.detected & ((np.abs(g.yaw) >= pose_deg) | (np.abs(g.roll) >= pose_deg))
        elif subset == "occlusion":
            mask = ~g.detected | (g.score < min_score)
        elif subset == "frontal":
            mask = g.detected & (g.score >= min_score) & (np.abs(g.yaw) < 15) & (np.abs(g.roll) < 10)
        else:
            raise ValueError(f"unknown face subset {subset!r}; choose from {', '.join(FACE_SUBSETS)}")
    return np.nonzero(mask)[0]


def describe(geometry: FaceGeometry) -> dict:
    g = geometry
    return {
        "n": int(len(g.detected)),
        "detected": int(g.detected.sum()),
        "yaw_abs_median": float(np.nanmedian(np.abs(g.yaw))) if g.detected.any() else None,
        "roll_abs_median": float(np.nanmedian(np.abs(g.roll))) if g.detected.any() else None,
    }
