"""Calibration maths as pure numpy functions: ECE, NLL, reliability bins and temperature scaling.

Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017) divides the logits by
one scalar T > 0 fitted to minimise the negative log-likelihood on held-out data. It never changes the argmax,
so accuracy is untouched; only the confidence of the probabilities moves.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15
_EPS = 1e-12


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits / temperature (float64, numerically stable)."""
    z = np.asarray(logits, np.float64) / float(temperature)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def negative_log_likelihood(probs: np.ndarray, y_true: np.ndarray) -> float:
    """Mean -log p(true class); probabilities are clipped at 1e-12 so one zero cannot make it infinite."""
    probs, y_true = np.asarray(probs, np.float64), np.asarray(y_true, np.int64)
    if len(y_true) == 0:
        return 0.0
    return float(-np.log(np.clip(probs[np.arange(len(y_true)), y_true], _EPS, None)).mean())


def reliability_bins(probs: np.ndarray, y_true: np.ndarray, n_bins: int = ECE_BINS) -> dict:
    """Top-label reliability table over ``n_bins`` equal-width confidence bins on [0, 1].

    A confidence c falls in bin i when i/n < c <= (i+1)/n (bin 0 also takes c == 0). Returns per-bin
    ``count``, mean ``confidence`` and ``accuracy`` (0 for empty bins) and the bin ``edges``."""
    probs, y_true = np.asarray(probs, np.float64), np.asarray(y_true, np.int64)
    conf = probs.max(1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(1) == y_true).astype(np.float64) if len(probs) else np.zeros(0)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.ceil(conf * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins).astype(np.int64)
    conf_sum = np.bincount(index, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(index, weights=correct, minlength=n_bins)
    safe = np.maximum(count, 1)
    return {
        "edges": edges,
        "count": count,
        "confidence": np.where(count > 0, conf_sum / safe, 0.0),
        "accuracy": np.where(count > 0, acc_sum / safe, 0.0),
    }


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Top-label ECE: sum over bins of (bin size / n) * |accuracy - mean confidence|."""
    bins = reliability_bins(probs, y_true, n_bins)
    n = bins["count"].sum()
    if n == 0:
        return 0.0
    return float((bins["count"] / n * np.abs(bins["accuracy"] - bins["confidence"])).sum())


def calibration_metrics(probs: np.ndarray, y_true: np.ndarray, n_bins: int = ECE_BINS) -> dict:
    return {"ece": expected_calibration_error(probs, y_true, n_bins), "nll": negative_log_likelihood(probs, y_true)}


def fit_temperature(
    logits: np.ndarray, y_true: np.ndarray, lo: float = 0.05, hi: float = 20.0, tol: float = 1e-7
) -> float:
    """The T in [lo, hi] minimising the NLL of softmax(logits / T).

    With beta = 1/T the NLL is convex in beta (log-sum-exp of a linear function minus a linear one), so its
    derivative mean(E_p[z] - z_true) is monotone and a bisection on it finds the global minimum; a bound is
    returned when the minimum lies beyond it (e.g. a perfectly separable set wants T -> 0)."""
    z = np.asarray(logits, np.float64)
    y_true = np.asarray(y_true, np.int64)
    if z.ndim != 2 or len(z) != len(y_true) or len(z) == 0:
        raise ValueError(f"fit_temperature needs (N, C) logits and N labels, got {z.shape} and {y_true.shape}")
    if not np.isfinite(z).all():
        raise ValueError("fit_temperature: logits contain NaN or infinity")
    z_true = z[np.arange(len(z)), y_true]

    def grad(beta: float) -> float:
        p = softmax(z * beta)
        return float(((p * z).sum(1) - z_true).mean())

    b_lo, b_hi = 1.0 / hi, 1.0 / lo
    if grad(b_lo) >= 0:
        return hi
    if grad(b_hi) <= 0:
        return lo
    while b_hi - b_lo > tol * b_lo:
        mid = 0.5 * (b_lo + b_hi)
        if grad(mid) > 0:
            b_hi = mid
        else:
            b_lo = mid
    return float(1.0 / (0.5 * (b_lo + b_hi)))


def cross_fitted_metrics(logits: np.ndarray, y_true: np.ndarray, folds: int = 2, seed: int = 0) -> dict:
    """ECE/NLL with T fitted on the other folds: an out-of-sample check of the in-sample fit."""
    z, y_true = np.asarray(logits, np.float64), np.asarray(y_true, np.int64)
    order = np.random.default_rng(seed).permutation(len(z))
    probs = np.zeros_like(z)
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        probs[test] = softmax(z[test], fit_temperature(z[train], y_true[train]))
    return calibration_metrics(probs, y_true)
