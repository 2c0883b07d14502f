"""Classification metrics as pure functions of labels/predictions (no accumulation state, no torch)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[i, j] = number of samples of true class i predicted as j."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    valid = (y_true >= 0) & (y_true < num_classes) & (y_pred >= 0) & (y_pred < num_classes)
    return np.bincount(y_true[valid] * num_classes + y_pred[valid], minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def accuracy(cm: np.ndarray) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else 0.0


def per_class(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, f1, support) per class; 0 where undefined (no predictions / no samples)."""
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(0).astype(np.float64), cm.sum(1).astype(np.float64)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return precision, recall, f1, support.astype(np.int64)


def macro_f1(cm: np.ndarray) -> float:
    """Mean F1 over the classes that occur in the ground truth."""
    _, _, f1, support = per_class(cm)
    present = support > 0
    return float(f1[present].mean()) if present.any() else 0.0


def top_k_accuracy(y_true: np.ndarray, scores: np.ndarray, k: int) -> float:
    y_true = np.asarray(y_true)
    topk = np.argsort(-scores, axis=1)[:, :k]
    return float((topk == y_true[:, None]).any(1).mean()) if len(y_true) else 0.0


def summary(y_true: np.ndarray, scores: np.ndarray, labels: Sequence[str]) -> dict:
    """All metrics of a labelled prediction set, as a JSON-ready dict."""
    y_true = np.asarray(y_true)
    y_pred = scores.argmax(1)
    cm = confusion_matrix(y_true, y_pred, len(labels))
    precision, recall, f1, support = per_class(cm)
    return {
        "n": int(len(y_true)),
        "accuracy": accuracy(cm),
        "top2_accuracy": top_k_accuracy(y_true, scores, 2),
        "macro_f1": macro_f1(cm),
        "labels": list(labels),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(labels)
        },
        "confusion_matrix": cm.tolist(),
    }
