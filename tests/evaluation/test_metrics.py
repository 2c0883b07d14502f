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
