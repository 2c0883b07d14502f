"""Fit a model's calibration temperature on a labelled split and measure ECE/NLL before and after."""

from __future__ import annotations

import time

import numpy as np

from ferkit.data import ArrayDataset
from ferkit.evaluation.calibration import (
    calibration_metrics,
    cross_fitted_metrics,
    fit_temperature,
    reliability_bins,
    softmax,
)
from ferkit.evaluation.evaluate import dataset_targets, model_logits
from ferkit.models.checkpoint import LoadedModel


def calibrate(loaded: LoadedModel, dataset: ArrayDataset, device: str = "cpu", batch_size: int = 512) -> dict:
    """Temperature scaling fitted by NLL on ``dataset`` (centre view, raw logits; any stored temperature is
    ignored). Returns the ``calibration`` dict stored in model files: temperature, where it was fitted, ECE and
    NLL before (T = 1) and after, a 2-fold cross-fitted ECE/NLL (T fitted on the other half: the out-of-sample
    check), and the reliability bins before/after for the diagram."""
    keep, y, model_idx = dataset_targets(loaded.labels, dataset)
    logits = model_logits(loaded, dataset.images[keep], device=device, batch_size=batch_size)
    y = y[keep]
    target = np.asarray(model_idx)[y]  # the true class as a model column
    t = round(fit_temperature(logits, target), 4)  # the stored value is the one measured
    cols = list(model_idx)
    before = softmax(logits)[:, cols]
    after = softmax(logits, t)[:, cols]
    cross = cross_fitted_metrics(logits, target)
    out = {
        "temperature": t,
        "method": "temperature scaling (NLL, centre view)",
        "dataset": dataset.name,
        "split": dataset.split,
        "n": int(len(y)),
        "before": calibration_metrics(before, y),
        "after": calibration_metrics(after, y),
        "cross_fitted_2fold": cross,
        "fitted": time.strftime("%Y-%m-%d"),
    }
    out["reliability"] = {"before": _bins(before, y), "after": _bins(after, y)}
    return out


def _bins(probs: np.ndarray, y: np.ndarray) -> dict:
    bins = reliability_bins(probs, y)
    return {k: bins[k].tolist() for k in ("count", "confidence", "accuracy")}
