"""Face trackers: give each face an id that persists across video frames.

``ByteTracker`` (the one the recogniser uses) keeps identities through missed detections and low detector
scores; ``IoUTracker`` is the simple greedy IoU matcher it replaced, kept for callers of the old API."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ferkit.faces.kalman import KalmanBox


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


# ----- ByteTrack-style tracker ----------------------------------------------------------------------------------
TENTATIVE, TRACKED, LOST = "tentative", "tracked", "lost"


@dataclass
class TrackedFace:
    """One face a tracker step reports. key: internal id, unique per track (per-track state such as smoothing
    hangs on it); track_id: public id, given when the track is confirmed (None while tentative); detection:
    index of the detection it matched this frame, None when carried by the motion model; box: where it is."""

    key: int
    track_id: int | None
    detection: int | None
    box: np.ndarray


@dataclass
class TrackerStep:
    faces: list[TrackedFace]
    ended: list[int]  # keys of tracks that ended at this step


@dataclass
class _Track:
    key: int
    kalman: KalmanBox
    frame: int  # last frame it matched a detection
    hits: int = 1
    state: str = TENTATIVE
    track_id: int | None = None


def _match(tracks: list[_Track], boxes: np.ndarray, cost: np.ndarray, max_cost: float):
    """Minimum-cost assignment with a gate -> (pairs (track index, box index), unmatched tracks, unmatched boxes)."""
    if cost.size == 0:
        return [], list(range(len(tracks))), list(range(len(boxes)))
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.where(cost <= max_cost, cost, 1e6))
    pairs = [(r, c) for r, c in zip(rows, cols) if cost[r, c] <= max_cost]
    used_r, used_c = {r for r, _ in pairs}, {c for _, c in pairs}
    return (
        pairs,
        [r for r in range(len(tracks)) if r not in used_r],
        [c for c in range(len(boxes)) if c not in used_c],
    )


def _centre_cost(tracks: list[_Track], boxes: np.ndarray) -> np.ndarray:
    """Centre distance in units of the track's box size (re-finding a lost face after its IoU fell to 0)."""
    tb = np.array([t.kalman.box for t in tracks]).reshape(-1, 4)
    tc, bc = (tb[:, :2] + tb[:, 2:]) / 2, (boxes[:, :2] + boxes[:, 2:]) / 2
    size = np.maximum(tb[:, 2:] - tb[:, :2], 1.0).max(1)
    scale = np.maximum((boxes[:, 2:] - boxes[:, :2]).max(1)[None] / size[:, None], 1e-3)
    dist = np.linalg.norm(tc[:, None] - bc[None], axis=-1) / size[:, None]
    # a box of a very different size is another face, however close
    return np.where((scale > 0.6) & (scale < 1.6), dist, 1e6)


@dataclass
class ByteTracker:
    """Two-stage association after ByteTrack (Zhang et al., 2022) with a constant-velocity Kalman filter.

    Per frame: tracks predict where their face is; confirmed tracks (and lost ones) take high-score detections
    by IoU; confirmed tracks still unmatched take low-score detections (a face the detector barely sees: turned,
    blurred, half hidden) by IoU; tentative tracks take what is left; lost tracks can also be re-found by centre
    distance when their predicted box drifted off. An unmatched high-score detection starts a tentative track,
    confirmed (given a public ``track_id``) after ``min_hits`` consecutive matches; a tentative track that misses
    a frame is dropped. A confirmed track that misses frames is kept as lost for ``max_lost`` frames, then ends.

    high: detections at or above this score are "high" (start and keep tracks), the rest only keep tracks alive;
    match_iou / low_match_iou / tentative_iou: IoU gates of the three stages; rematch_distance: centre distance
    gate (in face sizes) for lost tracks."""

    high: float = 0.5
    match_iou: float = 0.2
    low_match_iou: float = 0.3
    tentative_iou: float = 0.3
    min_hits: int = 3
    max_lost: int = 45
    rematch_distance: float = 1.5
    frame: int = 0
    tracks: list[_Track] = field(default_factory=list)
    next_key: int = 1
    next_id: int = 1

    def _predict(self) -> None:
        self.frame += 1
        for t in self.tracks:
            t.kalman.predict(damp_velocity=t.state == LOST)

    def update(self, boxes, scores) -> TrackerStep:
        """Detections of one frame (boxes (N, 4), scores (N,)) -> the faces to report and the tracks that ended."""
        self._predict()
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        high = [i for i in range(len(boxes)) if scores[i] >= self.high]
        low = [i for i in range(len(boxes)) if scores[i] < self.high]
        matched: dict[int, int] = {}  # track key -> detection index

        def stage(tracks, det_idx, cost_fn, max_cost):
            if not tracks or not det_idx:
                return tracks, det_idx
            pairs, rest_t, rest_d = _match(tracks, boxes[det_idx], cost_fn(tracks, boxes[det_idx]), max_cost)
            for ti, di in pairs:
                matched[tracks[ti].key] = det_idx[di]
            return [tracks[i] for i in rest_t], [det_idx[i] for i in rest_d]

        def iou_cost(tracks, b):
            return 1.0 - iou_matrix(np.array([t.kalman.box for t in tracks]), b)

        confirmed = [t for t in self.tracks if t.state != TENTATIVE]
        tentative = [t for t in self.tracks if t.state == TENTATIVE]
        confirmed, high = stage(confirmed, high, iou_cost, 1.0 - self.match_iou)
        tracked = [t for t in confirmed if t.state == TRACKED]
        lost = [t for t in confirmed if t.state == LOST]
        tracked, _ = stage(tracked, low, iou_cost, 1.0 - self.low_match_iou)
        tentative, high = stage(tentative, high, iou_cost, 1.0 - self.tentative_iou)
        _, high = stage(lost + tracked, high, _centre_cost, self.rematch_distance)

        faces, ended, keep = [], [], []
        for t in self.tracks:
            if t.key in matched:
                d = matched[t.key]
                t.kalman.update(boxes[d])
                t.frame, t.hits = self.frame, t.hits + 1
                if t.state == TENTATIVE and t.hits >= self.min_hits:
                    t.track_id, self.next_id = self.next_id, self.next_id + 1
                t.state = TENTATIVE if t.track_id is None else TRACKED
                faces.append(TrackedFace(t.key, t.track_id, d, boxes[d].copy()))
            elif t.state == TENTATIVE or self.frame - t.frame > self.max_lost:
                ended.append(t.key)
                continue
            else:
                t.state = LOST
            keep.append(t)
        self.tracks = keep
        for d in high:
            t = _Track(self.next_key, KalmanBox(boxes[d]), self.frame)
            self.next_key += 1
            if self.min_hits <= 1:
                t.track_id, t.state, self.next_id = self.next_id, TRACKED, self.next_id + 1
            self.tracks.append(t)
            faces.append(TrackedFace(t.key, t.track_id, d, boxes[d].copy()))
        faces.sort(key=lambda f: f.detection)
        return TrackerStep(faces, ended)

    def carry(self) -> TrackerStep:
        """A frame without detection: the tracks seen at the last detection move by their motion model."""
        self._predict()
        faces = [TrackedFace(t.key, t.track_id, None, t.kalman.box) for t in self.tracks if t.state != LOST]
        return TrackerStep(faces, [])

    def reset(self) -> list[int]:
        ended = [t.key for t in self.tracks]
        self.tracks, self.frame = [], 0
        return ended
