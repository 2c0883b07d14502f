"""Classical heads on synthetic features: every head learns a separable problem; scores fill absent classes."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.errors import ConfigError
from ferkit.evaluation.classical import HEADS, evaluate_head, fit_head, head_scores


def _blobs(n: int = 120, classes: int = 4, dim: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = rng.normal(0, 4, (classes, dim))
    return (centres[y] + rng.normal(0, 1, (n, dim))).astype(np.float32), y


@pytest.mark.parametrize("name", HEADS)
def test_heads_learn_separable_features_and_report_standard_metrics(name):
    x, y = _blobs()
    xt, yt = _blobs(seed=0)
    params = {"n_estimators": 30} if name == "random_forest" else {}
    head = fit_head(name, x, np.where(np.arange(len(y)) == 0, -1, y), **params)  # an unlabelled sample is skipped
    result = evaluate_head(head, xt, yt, ["a", "b", "c", "d"])
    assert result["accuracy"] > 0.9
    assert set(result) >= {"accuracy", "macro_f1", "top2_accuracy", "confusion_matrix", "per_class"}


def test_scores_have_a_column_for_every_label_even_unseen_ones():
    x, y = _blobs(classes=3)
    head = fit_head("logistic_regression", x, y)
    s = head_scores(head, x[:5], num_classes=5)
    assert s.shape == (5, 5) and np.allclose(s[:, 3:], 0) and np.allclose(s.sum(1), 1)
    svm = fit_head("linear_svm", x, y)
    assert np.allclose(head_scores(svm, x[:5], 3).sum(1), 1)


def test_unknown_head_and_no_labels_raise():
    x, y = _blobs()
    with pytest.raises(ConfigError, match="choose from"):
        fit_head("knn", x, y)
    with pytest.raises(ConfigError, match="no labelled"):
        fit_head("svm", x, np.full(len(y), -1))
