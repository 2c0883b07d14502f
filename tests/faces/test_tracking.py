import numpy as np

from ferkit.faces.tracking import IoUTracker, iou_matrix


def test_iou_matrix():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert np.allclose(iou_matrix(a, b), [[1.0, 1 / 3, 0.0]])


def test_ids_persist_and_end():
    tr = IoUTracker(iou_threshold=0.3, max_missed=2)
    ids, ended = tr.update([[0, 0, 10, 10], [50, 50, 60, 60]])
    assert ids == [1, 2] and ended == []
    ids, _ = tr.update([[51, 51, 61, 61], [1, 1, 11, 11]])  # moved a little, order swapped
    assert ids == [2, 1]
    ids, _ = tr.update([[100, 100, 110, 110]])  # new face; 1 and 2 missed once
    assert ids == [3]
    tr.update([[100, 100, 110, 110]])
    ids, ended = tr.update([[100, 100, 110, 110]])  # 1 and 2 now missed 3 > 2 times
    assert ids == [3] and sorted(ended) == [1, 2]
    ids, _ = tr.update([[0, 0, 10, 10]])  # a face where track 1 was gets a new id
    assert ids == [4]


# ----- ByteTracker -----------------------------------------------------------------------------------------------
from ferkit.faces.tracking import ByteTracker  # noqa: E402


def _box(x, y, s=40):
    return [x, y, x + s, y + s]


def test_tentative_tracks_are_confirmed_after_min_hits_and_dropped_on_a_miss():
    tr = ByteTracker(high=0.5, min_hits=3)
    ids = [tr.update([_box(100 + 2 * i, 100)], [0.9]).faces[0].track_id for i in range(3)]
    assert ids == [None, None, 1]
    step = tr.update([_box(300, 300)], [0.9])  # a one-frame false positive elsewhere, track 1 missed
    assert [f.track_id for f in step.faces] == [None]
    step = tr.update([_box(108, 100)], [0.9])  # track 1 found again; the false positive is dropped
    assert [f.track_id for f in step.faces] == [1] and len(step.ended) == 1


def test_low_score_detections_keep_tracks_but_never_start_them():
    tr = ByteTracker(high=0.5, min_hits=1)
    assert tr.update([_box(100, 100)], [0.9]).faces[0].track_id == 1
    step = tr.update([_box(102, 100), _box(400, 100)], [0.25, 0.3])  # weak: same face, and a weak stranger
    assert [(f.track_id, f.detection) for f in step.faces] == [(1, 0)]


def test_lost_track_is_refound_after_a_gap_with_its_motion():
    tr = ByteTracker(high=0.5, min_hits=1)
    for i in range(10):  # moving right 4 px per frame
        assert tr.update([_box(100 + 4 * i, 100)], [0.9]).faces[0].track_id == 1
    for _ in range(8):  # not detected for 8 frames
        assert tr.update(np.zeros((0, 4)), []).faces == []
    step = tr.update([_box(100 + 4 * 18, 100)], [0.9])  # where the motion model expects it
    assert [f.track_id for f in step.faces] == [1]


def test_carry_moves_tracks_by_their_velocity_and_reset_ends_all():
    tr = ByteTracker(high=0.5, min_hits=1)
    for i in range(6):
        tr.update([_box(100 + 5 * i, 100)], [0.9])
    carried = tr.carry().faces
    assert len(carried) == 1 and carried[0].detection is None and carried[0].box[0] > 127
    assert tr.reset() == [carried[0].key] and tr.tracks == []
