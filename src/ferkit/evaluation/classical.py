"""Classical classifiers (scikit-learn) on a network's penultimate features: the survey's "deep features +
SVM / random forest / logistic regression" heads, scored with the same metrics as the network
(ferkit.evaluation.metrics.summary).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ferkit.errors import ConfigError
from ferkit.evaluation.metrics import summary

HEADS = ("svm", "linear_svm", "random_forest", "logistic_regression")


def make_head(name: str, seed: int = 0, **params):
    """An unfitted estimator; features are standardised first where the method is scale-sensitive."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC, LinearSVC

    if name == "svm":
        return make_pipeline(StandardScaler(), SVC(**{"kernel": "rbf", "C": 1.0, "random_state": seed, **params}))
    if name == "linear_svm":
        return make_pipeline(StandardScaler(), LinearSVC(**{"C": 0.1, "random_state": seed, **params}))
    if name == "random_forest":
        return RandomForestClassifier(**{"n_estimators": 200, "random_state": seed, "n_jobs": 1, **params})
    if name == "logistic_regression":
        return make_pipeline(StandardScaler(), LogisticRegression(**{"C": 1.0, "max_iter": 1000, **params}))
    raise ConfigError(f"unknown classical head {name!r}; choose from {', '.join(HEADS)}")


def fit_head(name: str, features: np.ndarray, targets: np.ndarray, seed: int = 0, **params):
    """Fit on the samples that have a label (targets >= 0)."""
    keep = np.asarray(targets) >= 0
    if keep.sum() == 0:
        raise ConfigError("no labelled samples to fit a classical head on")
    return make_head(name, seed, **params).fit(np.asarray(features)[keep], np.asarray(targets)[keep])


def head_scores(estimator, features: np.ndarray, num_classes: int) -> np.ndarray:
    """(N, num_classes) scores: class probabilities where the estimator has them, else a softmax of its decision
    values; columns of classes absent from the training data stay at 0."""
    if hasattr(estimator, "predict_proba"):
        s = estimator.predict_proba(features)
    else:
        d = estimator.decision_function(features)
        if d.ndim == 1:  # two classes
            d = np.stack([-d, d], 1)
        e = np.exp(d - d.max(1, keepdims=True))
        s = e / e.sum(1, keepdims=True)
    out = np.zeros((len(features), num_classes), np.float64)
    out[:, np.asarray(estimator.classes_, np.int64)] = s
    return out


def evaluate_head(estimator, features: np.ndarray, targets: np.ndarray, labels: Sequence[str]) -> dict:
    keep = np.asarray(targets) >= 0
    scores = head_scores(estimator, np.asarray(features)[keep], len(labels))
    return summary(np.asarray(targets)[keep], scores, labels)
