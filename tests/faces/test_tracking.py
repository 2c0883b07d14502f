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
    ids, _ = tr.update([[100, 100, 110, 110]])             # new face; 1 and 2 missed once
    assert ids == [3]
    tr.update([[100, 100, 110, 110]])
    ids, ended = tr.update([[100, 100, 110, 110]])          # 1 and 2 now missed 3 > 2 times
    assert ids == [3] and sorted(ended) == [1, 2]
    ids, _ = tr.update([[0, 0, 10, 10]])                    # a face where track 1 was gets a new id
    assert ids == [4]
