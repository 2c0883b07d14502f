"""Constant-velocity Kalman filter on boxes, in ByteTrack's (SORT's) parameterisation.

State: (cx, cy, aspect, h) and their velocities; measurement: (cx, cy, aspect, h). Process and measurement
noise scale with the box height, so small and large faces move by the same relative amount.
"""

from __future__ import annotations

import numpy as np

_STD_POS = 1.0 / 20
_STD_VEL = 1.0 / 160
_MOTION = np.eye(8)
_MOTION[:4, 4:] = np.eye(4)
_UPDATE = np.eye(4, 8)


def box_to_xyah(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    h = max(y2 - y1, 1e-3)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / h, h])


def xyah_to_box(m: np.ndarray) -> np.ndarray:
    cx, cy, a, h = m[:4]
    w = a * h
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class KalmanBox:
    """One track's motion model: ``predict()`` once per frame, ``update(box)`` when a detection matched."""

    def __init__(self, box: np.ndarray):
        m = box_to_xyah(box)
        self.mean = np.concatenate([m, np.zeros(4)])
        h = m[3]
        std = [
            2 * _STD_POS * h,
            2 * _STD_POS * h,
            1e-2,
            2 * _STD_POS * h,
            10 * _STD_VEL * h,
            10 * _STD_VEL * h,
            1e-5,
            10 * _STD_VEL * h,
        ]
        self.cov = np.diag(np.square(std))

    @property
    def box(self) -> np.ndarray:
        return xyah_to_box(self.mean)

    def predict(self, damp_velocity: bool = False) -> None:
        """Advance one frame. ``damp_velocity`` halves the velocity first (a lost track should not drift off)."""
        if damp_velocity:
            self.mean[4:] *= 0.5
        h = self.mean[3]
        std = [_STD_POS * h, _STD_POS * h, 1e-2, _STD_POS * h, _STD_VEL * h, _STD_VEL * h, 1e-5, _STD_VEL * h]
        self.mean = _MOTION @ self.mean
        self.cov = _MOTION @ self.cov @ _MOTION.T + np.diag(np.square(std))

    def update(self, box: np.ndarray) -> None:
        z = box_to_xyah(box)
        h = self.mean[3]
        r = np.diag(np.square([_STD_POS * h, _STD_POS * h, 1e-1, _STD_POS * h]))
        s = _UPDATE @ self.cov @ _UPDATE.T + r
        gain = np.linalg.solve(s, _UPDATE @ self.cov).T
        self.mean = self.mean + gain @ (z - _UPDATE @ self.mean)
        self.cov = self.cov - gain @ s @ gain.T
