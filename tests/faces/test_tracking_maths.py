"""The numbers under the face trackers, pinned by hand and against the textbook: IoU of boxes, the centre-distance
cost with its size gate, the gated assignment, and the constant-velocity Kalman filter with ByteTrack's noise."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from ferkit.faces.kalman import KalmanBox, box_to_xyah, xyah_to_box
from ferkit.faces.tracking import ByteTracker, _centre_cost, _match, _Track, iou_matrix


# ----- IoU ------------------------------------------------------------------------------------------------------------
def test_iou_of_boxes_by_hand():
    a = np.array([[0, 0, 10, 20]])  # 10 wide, 20 high
    b = np.array(
        [
            [0, 0, 10, 20],  # itself: 1
            [5, 10, 15, 30],  # 5 x 10 overlap of 200 + 200 - 50: 50 / 350
            [0, 25, 10, 45],  # below, 5 apart: 0 (a negative height must not count)
            [12, 0, 22, 20],  # right, 2 apart: 0 (a negative width must not count)
            [12, 25, 22, 45],  # apart both ways: two negative sides must not multiply into a positive overlap
            [2, 3, 4, 30],  # a thin box partly inside: 2 x 17 = 34 of 200 + 54 - 34
        ]
    )
    assert iou_matrix(a, b)[0] == pytest.approx([1.0, 50 / 350, 0.0, 0.0, 0.0, 34 / 220])
    assert iou_matrix(b, a)[:, 0] == pytest.approx(iou_matrix(a, b)[0])  # symmetric
    assert iou_matrix(a, b).shape == (1, 6)


def test_iou_empty_sides_tiny_boxes_and_types():
    boxes = np.array([[0, 0, 1, 1], [2, 2, 3, 3]])
    assert iou_matrix([], boxes).shape == (0, 2) and iou_matrix(boxes, []).shape == (2, 0)
    tiny = np.array([[0.0, 0.0, 0.5, 0.5]])  # area 0.25: the floor only guards against 0
    assert iou_matrix(tiny, tiny)[0, 0] == pytest.approx(1.0)
    f32 = np.array([[0.1, 0.2, 0.7, 0.9]], np.float32)
    g32 = np.array([[0.3, 0.1, 0.8, 0.6]], np.float32)
    exact = iou_matrix(f32.astype(np.float64), g32.astype(np.float64))
    assert iou_matrix(f32, g32) == pytest.approx(exact, rel=1e-14)  # computed in float64 whatever comes in


# ----- centre cost and assignment ----------------------------------------------------------------------------------
def track(box) -> _Track:
    return _Track(key=1, kalman=KalmanBox(np.asarray(box, np.float64)), frame=0)


def test_centre_cost_in_face_sizes_with_a_size_gate():
    t = track([0, 0, 10, 20])  # centre (5, 10), size max(10, 20) = 20
    boxes = np.array(
        [
            [3, 4, 13, 24],  # same size, centre moved by (3, 4): 5 / 20
            [5, 10, 17, 30],  # 12 x 20, centre (11, 20): |(6, 10)| / 20, scale 1
            [0, 0, 10, 12],  # scale 12 / 20 = 0.6: the gate is open above 0.6 only
            [0, 0, 10, 32],  # scale 1.6: the gate is open below 1.6 only
            [0, 0, 10, 13],  # scale 0.65: inside
            [0, 0, 31, 31],  # scale 1.55: inside
        ],
        np.float64,
    )
    cost = _centre_cost([t], boxes)
    assert cost.shape == (1, 6)
    assert cost[0, :2] == pytest.approx([0.25, np.hypot(6, 10) / 20])
    assert cost[0, 2] == 1e6 and cost[0, 3] == 1e6
    assert cost[0, 4] == pytest.approx(np.hypot(0, 3.5) / 20) and cost[0, 5] == pytest.approx(np.hypot(10.5, 5.5) / 20)


def test_centre_cost_of_several_tracks_and_tiny_ones():
    tracks = [track([0, 0, 10, 10]), track([100, 100, 140, 120])]  # sizes 10 and 40
    boxes = np.array([[0, 0, 10, 10], [100, 100, 140, 120], [103, 104, 143, 124]], np.float64)
    cost = _centre_cost(tracks, boxes)
    assert cost[0, 0] == 0.0 and cost[1, 1] == 0.0 and cost[1, 2] == pytest.approx(5 / 40)
    assert cost[0, 1] == 1e6 and cost[1, 0] == 1e6  # sizes 10 against 40: another face
    dot = track([5, 5, 5.5, 5.5])  # under one pixel: sizes count as 1 pixel
    assert _centre_cost([dot], np.array([[5, 5, 6, 6]], np.float64))[0, 0] == pytest.approx(np.hypot(0.25, 0.25))


def test_assignment_is_optimal_and_gated_inclusively():
    cost = np.array([[0.9, 0.1], [0.1, 0.9]])
    pairs, rest_t, rest_b = _match([1, 2], np.zeros((2, 4)), cost, 0.5)
    assert sorted(pairs) == [(0, 1), (1, 0)] and rest_t == [] and rest_b == []
    pairs, rest_t, rest_b = _match([1, 2], np.zeros((3, 4)), np.array([[0.5, 0.7, 0.6], [0.8, 0.9, 0.5]]), 0.5)
    assert sorted(pairs) == [(0, 0), (1, 2)] and rest_t == [] and rest_b == [1]  # a cost equal to the gate matches
    pairs, rest_t, rest_b = _match([1, 2], np.zeros((0, 4)), np.zeros((2, 0)), 0.5)
    assert pairs == [] and rest_t == [0, 1] and rest_b == []
    pairs, rest_t, rest_b = _match([], np.zeros((2, 4)), np.zeros((0, 2)), 0.5)
    assert pairs == [] and rest_t == [] and rest_b == [0, 1]


# ----- Kalman filter ------------------------------------------------------------------------------------------------
def reference_kalman(boxes_and_steps):
    """The textbook constant-velocity filter with ByteTrack's noise (positions 1/20 and velocities 1/160 of the
    height; aspect 1e-2 / 1e-5 process, 1e-1 measurement; the first covariance 2x and 10x those), written with
    explicit matrices and an inverse."""

    def xyah(b):
        x1, y1, x2, y2 = b
        h = y2 - y1
        return np.array([(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / h, h])

    F = np.eye(8)
    F[:4, 4:] = np.eye(4)
    H = np.eye(4, 8)
    first = xyah(boxes_and_steps[0])
    mean = np.r_[first, np.zeros(4)]
    h = first[3]
    P = np.diag(np.square([h / 10, h / 10, 1e-2, h / 10, h / 16, h / 16, 1e-5, h / 16]))
    out = []
    for step in boxes_and_steps[1:]:
        if step is None or isinstance(step, str):
            if step == "lost":
                mean[4:] = mean[4:] / 2
            h = mean[3]
            Q = np.diag(np.square([h / 20, h / 20, 1e-2, h / 20, h / 160, h / 160, 1e-5, h / 160]))
            mean, P = F @ mean, F @ P @ F.T + Q
        else:
            h = mean[3]
            R = np.diag(np.square([h / 20, h / 20, 1e-1, h / 20]))
            S = H @ P @ H.T + R
            K = P @ H.T @ np.linalg.inv(S)
            mean = mean + K @ (xyah(step) - H @ mean)
            P = (np.eye(8) - K @ H) @ P
        out.append((mean.copy(), P.copy()))
    return out


def test_kalman_filter_matches_the_textbook():
    steps = [
        [10, 20, 50, 80],
        None,
        [14, 22, 54, 83],
        None,
        [19, 25, 60, 87],
        None,
        "lost",
        "lost",
        None,
        [30, 30, 72, 95],
    ]
    kalman = KalmanBox(np.array(steps[0], np.float64))
    expected = reference_kalman(steps)
    for step, (mean, cov) in zip(steps[1:], expected):
        if step is None or isinstance(step, str):
            kalman.predict(damp_velocity=step == "lost")
        else:
            kalman.update(np.array(step, np.float64))
        assert kalman.mean == pytest.approx(mean, rel=1e-9, abs=1e-9)
        assert kalman.cov == pytest.approx(cov, rel=1e-7, abs=1e-12)
    assert kalman.box == pytest.approx(xyah_to_box(expected[-1][0]))


def test_box_and_centre_form_round_trip():
    box = np.array([10.0, 20.0, 50.0, 80.0])
    assert box_to_xyah(box).tolist() == pytest.approx([30.0, 50.0, 40 / 60, 60.0])
    assert xyah_to_box(box_to_xyah(box)).tolist() == pytest.approx(box.tolist())
    assert xyah_to_box(np.array([0.0, 0.0, 2.0, 4.0])).tolist() == pytest.approx([-4.0, -2.0, 4.0, 2.0])
    assert box_to_xyah(np.array([0.0, 5.0, 2.0, 5.0]))[3] == pytest.approx(1e-3)  # a flat box keeps a height


# ----- ByteTracker's frame clock ------------------------------------------------------------------------------------
def test_a_lost_track_ends_after_exactly_max_lost_frames_and_drifts_damped():
    bt = ByteTracker(min_hits=1, max_lost=3)
    box = np.array([[0.0, 0.0, 20.0, 20.0]])
    bt.update(box + 0.0, [0.9])
    bt.update(box + 4.0, [0.9])  # moving right and down by 4 per frame
    assert bt.frame == 2
    ended = [bt.update(np.zeros((0, 4)), []).ended for _ in range(4)]
    assert ended == [[], [], [], [1]]  # lost for 3 frames, gone on the 4th
    bt = ByteTracker(min_hits=1, max_lost=30)
    bt.update(box + 0.0, [0.9])
    bt.update(box + 4.0, [0.9])
    velocity = bt.tracks[0].kalman.mean[4]
    bt.update(np.zeros((0, 4)), [])  # not lost yet when predicted: full step
    x_before = bt.tracks[0].kalman.mean[0]
    bt.update(np.zeros((0, 4)), [])  # lost now: the velocity is halved first
    assert bt.tracks[0].kalman.mean[0] - x_before == pytest.approx(velocity / 2)
    assert bt.carry().ended == [] and bt.frame == 5


# ----- ByteTracker bookkeeping ------------------------------------------------------------------------------------
def test_ids_keys_order_and_boxes_of_reported_faces():
    bt = ByteTracker(min_hits=1)
    a, b, c = [0, 0, 20, 20], [100, 0, 120, 20], [200, 0, 220, 20]
    step = bt.update([a, b], [[0.9, 0.8]])  # scores as a row: any shape is flattened
    assert [(f.key, f.track_id, f.detection) for f in step.faces] == [(1, 1, 0), (2, 2, 1)]
    assert step.faces[0].box.dtype == np.float64 and step.faces[0].box.tolist() == a
    step = bt.update([c, b, a], [0.9, 0.9, 0.9])  # the new face comes first in the list
    assert [(f.key, f.track_id, f.detection) for f in step.faces] == [(3, 3, 0), (2, 2, 1), (1, 1, 2)]
    assert step.faces[1].box.tolist() == b and step.ended == []
    assert sorted(bt.reset()) == [1, 2, 3] and bt.tracks == [] and bt.frame == 0


def test_confirmation_after_min_hits_numbers_ids_one_by_one():
    bt = ByteTracker(min_hits=2)
    a, b = [0, 0, 20, 20], [100, 0, 120, 20]
    first = bt.update([a, b], [0.9, 0.9])
    assert [f.track_id for f in first.faces] == [None, None]
    second = bt.update([a, b], [0.9, 0.9])
    assert [f.track_id for f in second.faces] == [1, 2] and bt.next_id == 3


def test_score_threshold_is_inclusive_for_new_tracks():
    bt = ByteTracker(min_hits=1, high=0.5)
    step = bt.update([[0, 0, 20, 20], [100, 0, 120, 20]], [0.5, 0.4999])
    assert [f.detection for f in step.faces] == [0]  # exactly 0.5 starts a track, less does not


def test_low_score_detections_keep_only_well_overlapping_tracks():
    for shift, kept in ((3, True), (11, False)):  # IoU 0.74 keeps, IoU 0.29 does not (gate 0.3)
        bt = ByteTracker(min_hits=1, high=0.5, low_match_iou=0.3, match_iou=0.9)
        bt.update([[0, 0, 20, 20]], [0.9])
        step = bt.update([[shift, 0, 20 + shift, 20]], [0.2])
        assert (len(step.faces) == 1) is kept, shift
        assert bt.tracks[0].state == ("tracked" if kept else "lost")


def test_tentative_tracks_need_the_tentative_gate():
    for shift, kept in ((3, True), (11, False)):
        bt = ByteTracker(min_hits=3, tentative_iou=0.3)
        bt.update([[0, 0, 20, 20]], [0.9])
        step = bt.update([[shift, 0, 20 + shift, 20]], [0.9])
        assert (step.faces[0].key == 1) is kept and (step.ended == [1]) is not kept, shift


# ----- IoUTracker (the older greedy one) -------------------------------------------------------------------------
def test_iou_tracker_bookkeeping():
    from ferkit.faces.tracking import IoUTracker

    t = IoUTracker(iou_threshold=0.5, max_missed=1)
    ids, ended = t.update([[0, 0, 10, 10], [50, 0, 60, 10]])
    assert ids == [1, 2] and ended == []
    # the first box overlaps its track by exactly 0.5 (its lower half): the threshold is inclusive
    ids, ended = t.update([[0, 0, 10, 5]])
    assert ids == [1] and ended == [] and t.tracks[0].age == 2 and t.tracks[1].missed == 1
    ids, ended = t.update([[0, 0, 10, 5]])
    assert ids == [1] and ended == [2] and t.tracks[0].age == 3  # track 2 missed 2 > max_missed frames: ended
    ids, _ = t.update([[0, 0, 10, 5], [0, 0, 10, 5]])
    assert ids == [1, 3]  # one track takes one box; the other is new
    assert t.update(np.zeros((0, 4)))[0] == [] and sorted(t.reset()) == [1, 3] and t.tracks == []


def test_iou_tracker_takes_the_next_best_pair_after_a_conflict():
    from ferkit.faces.tracking import IoUTracker

    t = IoUTracker(iou_threshold=0.3)
    t.update([[0, 0, 10, 10], [8, 0, 18, 10]])
    # box 0 overlaps track 1 most, box 1 overlaps track 1 too but track 2 less: track 2 must still get box 1
    ids, _ = t.update([[0, 0, 10, 10], [6, 0, 16, 10]])
    assert ids == [1, 2]


def test_kalman_predict_does_not_damp_by_default_and_carry_keeps_ids():
    k = KalmanBox(np.array([0.0, 0.0, 20.0, 20.0]))
    k.update(np.array([4.0, 0.0, 24.0, 20.0]))
    v = k.mean[4]
    x = k.mean[0]
    k.predict()
    assert k.mean[0] - x == pytest.approx(v)
    bt = ByteTracker(min_hits=1)
    bt.update([[0, 0, 20, 20]], [0.9])
    assert [f.track_id for f in bt.carry().faces] == [1]


def test_an_ended_track_does_not_hide_the_tracks_after_it():
    bt = ByteTracker(min_hits=3)
    bt.update([[0, 0, 20, 20]], [0.9])  # key 1, tentative
    bt.update([[0, 0, 20, 20], [100, 0, 120, 20]], [0.9, 0.9])  # key 1 again, key 2 new
    step = bt.update([[100, 0, 120, 20]], [0.9])  # key 1 (tentative) misses: it ends
    assert step.ended == [1] and [f.key for f in step.faces] == [2] and [t.key for t in bt.tracks] == [2]


def test_a_detection_at_the_high_score_is_not_also_a_low_one():
    bt = ByteTracker(min_hits=1, high=0.5)
    bt.update([[0, 0, 20, 20], [3, 0, 23, 20]], [0.9, 0.9])  # two close faces, two tracks
    step = bt.update([[1, 0, 21, 20]], [0.5])  # one detection at exactly the threshold
    assert len(step.faces) == 1  # one track takes it, not both


def test_iou_tracker_skips_a_taken_pair_and_still_matches_a_weaker_one():
    from ferkit.faces.tracking import IoUTracker

    t = IoUTracker(iou_threshold=0.3)
    t.update([[0, 0, 10, 10], [6, 0, 16, 10]])
    # IoUs: track 1/box 0 = 1, track 1/box 1 = 0.82 (track 1 already taken), track 2/box 1 = 0.33 (above 0.3):
    # the taken pair is skipped and the weaker free pair below it still matches
    ids, ended = t.update([[0, 0, 10, 10], [1, 0, 11, 10]])
    assert ids == [1, 2] and ended == [] and t.next_id == 3


def test_kalman_predict_keeps_the_full_velocity_unless_told_to_damp():
    k = KalmanBox(np.array([0.0, 0.0, 20.0, 20.0]))
    for shift in (4.0, 8.0, 12.0):  # a face moving right: the filter learns a velocity
        k.predict()
        k.update(np.array([shift, 0.0, 20.0 + shift, 20.0]))
    v = k.mean[4]
    assert v > 0.5
    plain, damped = copy.deepcopy(k), copy.deepcopy(k)
    plain.predict()
    damped.predict(damp_velocity=True)
    assert plain.mean[0] - k.mean[0] == pytest.approx(v)
    assert damped.mean[0] - k.mean[0] == pytest.approx(v / 2)
