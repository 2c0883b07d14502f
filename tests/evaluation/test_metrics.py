import numpy as np
import pytest

from ferkit.evaluation import metrics


def test_hand_computed_case():
    # 3 classes; true: 0 0 0 1 1 2 ; pred: 0 0 1 1 2 2
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 2, 2])
    cm = metrics.confusion_matrix(y, p, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert metrics.accuracy(cm) == pytest.approx(4 / 6)
    precision, recall, f1, support = metrics.per_class(cm)
    assert precision.tolist() == pytest.approx([1.0, 0.5, 0.5])
    assert recall.tolist() == pytest.approx([2 / 3, 0.5, 1.0])
    assert f1.tolist() == pytest.approx([0.8, 0.5, 2 / 3])
    assert support.tolist() == [3, 2, 1]
    assert metrics.macro_f1(cm) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)


def test_undefined_precision_is_zero_and_absent_class_ignored_in_macro_f1():
    cm = metrics.confusion_matrix(np.array([0, 0]), np.array([0, 0]), 3)
    p, r, f, s = metrics.per_class(cm)
    assert p.tolist() == [1.0, 0.0, 0.0] and s.tolist() == [2, 0, 0]
    assert metrics.macro_f1(cm) == 1.0


def test_top_k_and_summary_keys():
    scores = np.array([[0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [0.1, 0.5, 0.4]])
    y = np.array([1, 0, 2])
    assert metrics.top_k_accuracy(y, scores, 1) == 0.0
    assert metrics.top_k_accuracy(y, scores, 2) == pytest.approx(2 / 3)
    s = metrics.summary(y, scores, ["a", "b", "c"])
    for key in ("accuracy", "top2_accuracy", "macro_f1", "per_class", "confusion_matrix", "labels", "n"):
        assert key in s
    assert s["n"] == 3 and s["per_class"]["a"]["support"] == 1


def test_invalid_labels_are_ignored():
    cm = metrics.confusion_matrix(np.array([0, -1, 5]), np.array([0, 0, 0]), 2)
    assert cm.sum() == 1


def test_class_boundaries_and_number_types():
    # labels equal to num_classes are out of range on either side
    assert metrics.confusion_matrix(np.array([0, 3, 1]), np.array([0, 1, 3]), 3).tolist() == [
        [1, 0, 0],
        [0] * 3,
        [0] * 3,
    ]
    floats = metrics.confusion_matrix(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 0.0]), 2)
    assert floats.tolist() == [[0, 1], [1, 1]]
    assert metrics.per_class(floats)[3].dtype == np.int64


def test_a_class_predicted_once_and_right_has_precision_one():
    cm = metrics.confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
    precision, recall, f1, _ = metrics.per_class(cm)
    assert precision.tolist() == pytest.approx([0.5, 1.0]) and recall.tolist() == pytest.approx([1.0, 0.5])
    assert f1.tolist() == pytest.approx([2 / 3, 2 / 3])


def test_undefined_ratios_are_zero_whatever_memory_held_before():
    dense = np.array([[3, 1, 2], [1, 4, 1], [2, 2, 5]])
    sparse = np.array([[2, 0, 0], [0, 0, 0], [0, 0, 0]])  # class 1 and 2: never true, never predicted
    for _ in range(20):
        metrics.per_class(dense)  # leaves freed non-zero buffers behind
        precision, recall, f1, support = metrics.per_class(sparse)
        assert precision.tolist() == [1.0, 0.0, 0.0] and recall.tolist() == [1.0, 0.0, 0.0]
        assert f1.tolist() == [1.0, 0.0, 0.0] and support.tolist() == [2, 0, 0]
    wrong = np.array([[0, 2], [0, 0]])  # class 0 never right, class 1 never true
    precision, recall, f1, _ = metrics.per_class(wrong)
    assert precision.tolist() == [0.0, 0.0] and recall.tolist() == [0.0, 0.0] and f1.tolist() == [0.0, 0.0]


def test_empty_sets_score_zero():
    assert metrics.accuracy(np.zeros((3, 3), np.int64)) == 0.0
    assert metrics.macro_f1(np.zeros((3, 3), np.int64)) == 0.0
    assert metrics.top_k_accuracy(np.zeros(0, np.int64), np.zeros((0, 3)), 2) == 0.0
    s = metrics.summary(np.zeros(0, np.int64), np.zeros((0, 2)), ["a", "b"])
    assert s["n"] == 0 and s["accuracy"] == s["top2_accuracy"] == s["macro_f1"] == 0.0


def test_summary_values_by_hand():
    # 4 classes; the true class is 1st, 2nd, 3rd and 2nd by score: top-1 1/4, top-2 3/4 (top-3 would be 4/4)
    scores = np.array([[0.7, 0.2, 0.1, 0.0], [0.5, 0.4, 0.1, 0.0], [0.5, 0.3, 0.2, 0.0], [0.1, 0.6, 0.2, 0.1]])
    y = np.array([0, 1, 2, 2])
    s = metrics.summary(y, scores, ["a", "b", "c", "d"])
    assert s["accuracy"] == 0.25 and s["top2_accuracy"] == 0.75
    assert s["per_class"]["a"] == {
        "precision": pytest.approx(1 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.5),
        "support": 1,
    }
    assert s["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert s["confusion_matrix"] == [[1, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
    assert s["labels"] == ["a", "b", "c", "d"] and s["macro_f1"] == pytest.approx(0.5 / 3)


def test_undefined_ratios_are_zero_for_many_classes():
    # 300 classes: arrays large enough that fresh NumPy buffers hold old data, so any unset entry would show
    rng = np.random.default_rng(0)
    dense = rng.integers(1, 9, (300, 300))
    sparse = np.zeros((300, 300), np.int64)
    sparse[0, 0] = 2
    for _ in range(5):
        metrics.per_class(dense)
        precision, recall, f1, _ = metrics.per_class(sparse)
        assert f1[0] == 1.0 and not f1[1:].any() and not precision[1:].any() and not recall[1:].any()
