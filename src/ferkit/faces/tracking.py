"""Greedy IoU tracker: gives each face a track id that persists across video frames."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,4) x (M,4) boxes -> (N, M) intersection over union."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a, b = np.asarray(a, np.float64)[:, None], np.asarray(b, np.float64)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = w * h
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / np.maximum(area(a) + area(b) - inter, 1e-9)


@dataclass
class Track:
    track_id: int
    box: np.ndarray
    missed: int = 0
    age: int = 1


@dataclass
class IoUTracker:
    """Match detections to live tracks by IoU (best pairs first). A track survives ``max_missed`` processed
    frames without a match (short occlusions, missed detections), then ends; ``update`` reports ended ids so
    per-track state (temporal aggregation) can be reset."""

    iou_threshold: float = 0.3
    max_missed: int = 5
    tracks: list[Track] = field(default_factory=list)
    next_id: int = 1

    def update(self, boxes: np.ndarray) -> tuple[list[int], list[int]]:
        """boxes (N, 4) of this frame -> (track id per box, ids of tracks that ended now)."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        ids = [0] * len(boxes)
        iou = iou_matrix(np.array([t.box for t in self.tracks]).reshape(-1, 4), boxes)
        matched_tracks, matched_boxes = set(), set()
        if iou.size:
            for flat in np.argsort(-iou, axis=None):
                ti, bi = np.unravel_index(flat, iou.shape)
                if iou[ti, bi] < self.iou_threshold:
                    break
                if ti in matched_tracks or bi in matched_boxes:
                    continue
                matched_tracks.add(ti)
                matched_boxes.add(bi)
                track = self.tracks[ti]
                track.box, track.missed, track.age = boxes[bi], 0, track.age + 1
                ids[bi] = track.track_id
        ended = []
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missed += 1
        for track in self.tracks:
            if track.missed > self.max_missed:
                ended.append(track.track_id)
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for bi in range(len(boxes)):
            if bi not in matched_boxes:
                self.tracks.append(Track(self.next_id, boxes[bi]))
                ids[bi] = self.next_id
                self.next_id += 1
        return ids, ended

    def reset(self) -> list[int]:
        ended = [t.track_id for t in self.tracks]
        self.tracks = []
        return ended
