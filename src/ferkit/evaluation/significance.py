"""Is model B really more accurate than model A on the same test items? Paired comparisons of two models'
per-item correctness: a (cluster) bootstrap confidence interval of the accuracy difference and an exact sign test.

Items that are not independent (the three last frames of one CK+ sequence, the frames of one video) carry a
``group``: the bootstrap then resamples whole groups, and the sign test counts groups (by the sign of the
per-group difference in correct items), so correlated frames do not pass for independent evidence. Without groups
every item is its own group and the sign test is McNemar's exact test.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ferkit.errors import ConfigError


def _group_sums(correct_a: np.ndarray, correct_b: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: (items, correct of A, correct of B)."""
    if groups is None:
        ones = np.ones(len(correct_a))
        return ones, correct_a.astype(float), correct_b.astype(float)
    _, idx = np.unique(np.asarray(groups), return_inverse=True)
    return (
        np.bincount(idx).astype(float),
        np.bincount(idx, weights=correct_a.astype(float)),
        np.bincount(idx, weights=correct_b.astype(float)),
    )


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial p-value of ``wins`` against ``losses`` under p = 1/2 (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(comb(n, i) for i in range(k + 1)) / 2**n  # exact integers: 2.0 ** n overflows past n = 1023
    return float(min(1.0, 2.0 * tail))


def paired_comparison(
    correct_a, correct_b, groups=None, n_boot: int = 10000, level: float = 0.95, seed: int = 0
) -> dict:
    """Accuracy of A and B on the same items, B - A in points with a percentile bootstrap interval (groups
    resampled whole), and the two-sided exact sign test over groups (items when ``groups`` is None)."""
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ConfigError(
            f"paired comparison needs two equally long lists of per-item results, got {a.shape} and {b.shape}"
        )
    if len(a) == 0:
        raise ConfigError("paired comparison: no items to compare")
    if groups is not None and len(groups) != len(a):
        raise ConfigError(f"paired comparison: {len(groups)} groups for {len(a)} items")
    if not 0.0 < level < 1.0:
        raise ConfigError(f"paired comparison: level must lie in (0, 1), got {level}")
    count, sum_a, sum_b = _group_sums(a, b, groups)
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    chunk = max(1, 2_000_000 // len(count))  # bounded memory for large test sets
    for start in range(0, n_boot, chunk):
        draw = rng.integers(0, len(count), size=(min(chunk, n_boot - start), len(count)))
        diffs[start : start + len(draw)] = 100.0 * (sum_b[draw].sum(1) - sum_a[draw].sum(1)) / count[draw].sum(1)
    alpha = (1.0 - level) / 2.0
    per_group = sum_b - sum_a
    wins, losses = int((per_group > 0).sum()), int((per_group < 0).sum())
    return {
        "n_items": int(len(a)),
        "n_groups": int(len(count)),
        "accuracy_a": 100.0 * float(a.mean()),
        "accuracy_b": 100.0 * float(b.mean()),
        "difference_points": 100.0 * float(b.mean() - a.mean()),
        "ci_low": float(np.quantile(diffs, alpha)),
        "ci_high": float(np.quantile(diffs, 1.0 - alpha)),
        "level": level,
        "n_boot": n_boot,
        "groups_b_better": wins,
        "groups_a_better": losses,
        "groups_tied": int(len(count) - wins - losses),
        "sign_test_p": sign_test_p(wins, losses),
    }


def format_comparison(result: dict, name_a: str = "A", name_b: str = "B") -> str:
    """One paragraph a person reads: both accuracies, the difference with its interval, the sign test."""
    unit = "items" if result["n_groups"] == result["n_items"] else f"groups ({result['n_items']} items)"
    return (
        f"{name_a}: {result['accuracy_a']:.2f}%   {name_b}: {result['accuracy_b']:.2f}%   "
        f"(n = {result['n_groups']} {unit})\n"
        f"{name_b} - {name_a}: {result['difference_points']:+.2f} points, {100 * result['level']:.0f}% "
        f"bootstrap interval [{result['ci_low']:+.2f}, {result['ci_high']:+.2f}]\n"
        f"sign test: {name_b} better on {result['groups_b_better']}, {name_a} better on "
        f"{result['groups_a_better']}, tied {result['groups_tied']}; two-sided p = {result['sign_test_p']:.3g}"
    )
