"""Paired comparison of two models on the same items: bootstrap interval and exact sign test."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.errors import ConfigError
from ferkit.evaluation.significance import format_comparison, paired_comparison, sign_test_p


def test_sign_test_exact_values():
    assert sign_test_p(0, 5) == pytest.approx(2 / 32)  # 2 * P(X <= 0), X ~ Bin(5, 1/2)
    assert sign_test_p(1, 9) == pytest.approx(2 * 11 / 1024)
    assert sign_test_p(3, 3) == 1.0 and sign_test_p(0, 0) == 1.0
    assert sign_test_p(7, 2) == sign_test_p(2, 7)


def test_sign_test_on_many_discordant_items():
    # past 1023 discordant items 2.0 ** n overflows a float; the p-value must still come out
    assert sign_test_p(1000, 1000) == 1.0
    assert sign_test_p(900, 1100) < 1e-5 and sign_test_p(1100, 900) == sign_test_p(900, 1100)
    assert sign_test_p(0, 3000) == 0.0  # 2 / 2**3000 underflows to zero, not an error


def test_identical_models_differ_by_nothing():
    a = np.random.default_rng(0).random(500) < 0.7
    r = paired_comparison(a, a.copy(), n_boot=500)
    assert r["difference_points"] == 0 and r["ci_low"] == 0 and r["ci_high"] == 0
    assert r["sign_test_p"] == 1.0 and r["groups_tied"] == 500 and r["n_groups"] == r["n_items"] == 500


def test_interval_matches_the_normal_approximation_of_a_paired_difference():
    rng = np.random.default_rng(1)
    n = 4000
    a = rng.random(n) < 0.7
    b = a.copy()
    flip = rng.random(n) < 0.08  # 8% discordant items, most of them in B's favour
    b[flip] = rng.random(flip.sum()) < 0.5 + 0.5 * (~a[flip])
    r = paired_comparison(a, b, n_boot=4000, seed=3)
    d = b.astype(float) - a.astype(float)
    se = 100 * d.std() / np.sqrt(n)
    assert r["difference_points"] == pytest.approx(100 * d.mean())
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * 1.96 * se, rel=0.1)
    assert r["ci_low"] < r["difference_points"] < r["ci_high"]


def test_a_clear_win_is_significant_and_a_coin_flip_is_not():
    a = np.zeros(200, bool)
    clear = paired_comparison(a, np.r_[np.ones(30, bool), np.zeros(170, bool)], n_boot=2000)
    assert clear["ci_low"] > 0 and clear["sign_test_p"] < 1e-6 and clear["groups_b_better"] == 30
    b = np.r_[np.ones(10, bool), np.zeros(190, bool)]
    a2 = np.r_[np.zeros(10, bool), np.ones(9, bool), np.zeros(181, bool)]
    coin = paired_comparison(a2, b, n_boot=2000)
    assert coin["ci_low"] < 0 < coin["ci_high"] and coin["sign_test_p"] > 0.5


def test_groups_count_once_and_widen_the_interval():
    # 40 groups of 5 identical frames: B wins 14 groups, A wins 6; as frames it looks five times the evidence
    a = np.repeat(np.r_[np.zeros(14), np.ones(6), np.zeros(20)].astype(bool), 5)
    b = np.repeat(np.r_[np.ones(14), np.zeros(6), np.zeros(20)].astype(bool), 5)
    groups = np.repeat(np.arange(40), 5)
    frames = paired_comparison(a, b, n_boot=3000)
    grouped = paired_comparison(a, b, groups, n_boot=3000)
    assert grouped["n_groups"] == 40 and grouped["groups_b_better"] == 14 and grouped["groups_a_better"] == 6
    assert grouped["difference_points"] == frames["difference_points"] == pytest.approx(20.0)
    assert frames["sign_test_p"] < 0.01 < grouped["sign_test_p"] == pytest.approx(sign_test_p(14, 6))
    assert (grouped["ci_high"] - grouped["ci_low"]) > 1.8 * (frames["ci_high"] - frames["ci_low"])
    text = format_comparison(grouped, "old", "new")
    assert "40 groups (200 items)" in text and "new - old: +20.00 points" in text


def test_bad_inputs_are_named():
    with pytest.raises(ConfigError, match="equally long"):
        paired_comparison([True, False], [True])
    with pytest.raises(ConfigError, match="no items"):
        paired_comparison([], [])
    with pytest.raises(ConfigError, match="3 groups for 2 items"):
        paired_comparison([True, False], [True, True], groups=[0, 1, 2])
    with pytest.raises(ConfigError, match="level"):
        paired_comparison([True], [False], level=95)


def test_accuracies_ties_and_defaults_by_hand():
    a = [True, True, False, False, True]
    b = [True, True, True, False, False]
    r = paired_comparison(a, b)
    assert r["accuracy_a"] == pytest.approx(60.0) and r["accuracy_b"] == pytest.approx(60.0)
    assert r["groups_b_better"] == 1 and r["groups_a_better"] == 1 and r["groups_tied"] == 3
    assert r["n_boot"] == 10000 and r["level"] == 0.95
    rng = np.random.default_rng(6)
    many_a, many_b = rng.random(300) < 0.6, rng.random(300) < 0.6
    default = paired_comparison(many_a, many_b, n_boot=500, groups=np.arange(300) // 7)
    assert default == paired_comparison(many_a, many_b, n_boot=500, groups=np.arange(300) // 7, seed=0)
    other = paired_comparison(many_a, many_b, n_boot=500, groups=np.arange(300) // 7, seed=1)
    assert (default["ci_low"], default["ci_high"]) != (other["ci_low"], other["ci_high"])  # the seed matters
    truthy = paired_comparison([2, 0, 0, 5, 1], [0, 3, 0, 0, 0], n_boot=10)  # any non-zero means correct
    assert truthy["accuracy_a"] == pytest.approx(60.0) and truthy["accuracy_b"] == pytest.approx(20.0)


def test_a_uniform_difference_gives_an_exact_interval():
    # B right and A wrong on every item: every resample differs by exactly 100 points, whatever is drawn
    for n_items, n_boot in ((1, 10), (3, 7), (5, 1)):
        r = paired_comparison([False] * n_items, [True] * n_items, n_boot=n_boot)
        assert r["ci_low"] == r["ci_high"] == r["difference_points"] == 100.0, (n_items, n_boot)


def test_bootstrap_in_uneven_chunks():
    # 4000 groups: draws come in chunks of 500 rows, and 1001 resamples end on a chunk of one row
    rng = np.random.default_rng(4)
    a, b = rng.random(4000) < 0.6, rng.random(4000) < 0.65
    r = paired_comparison(a, b, n_boot=1001, seed=2)
    assert r["n_boot"] == 1001 and r["ci_low"] < r["difference_points"] < r["ci_high"]


def test_interval_level_sets_the_quantiles():
    # a 50% interval of a paired difference is about +-0.674 standard errors wide (not +-0.97)
    rng = np.random.default_rng(5)
    n = 3000
    a = rng.random(n) < 0.7
    b = np.where(rng.random(n) < 0.1, ~a, a)
    r = paired_comparison(a, b, n_boot=4000, level=0.5, seed=1)
    d = b.astype(float) - a.astype(float)
    se = 100 * d.std() / np.sqrt(n)
    assert r["ci_high"] - r["ci_low"] == pytest.approx(2 * 0.674 * se, rel=0.12)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, -0.1])
def test_levels_outside_zero_one_are_refused(level):
    with pytest.raises(ConfigError, match=f"level must lie in \\(0, 1\\), got {level}"):
        paired_comparison([True], [False], level=level)


def test_report_text_with_default_names_and_items():
    r = paired_comparison([True, False, False, True], [True, True, False, True], n_boot=200)
    text = format_comparison(r)
    assert text.startswith("A: 50.00%   B: 75.00%   (n = 4 items)\nB - A: +25.00 points, 95% bootstrap interval")
    assert "sign test: B better on 1, A better on 0, tied 3; two-sided p = 1" in text
    with pytest.raises(ConfigError, match="^paired comparison: no items to compare$"):
        paired_comparison([], [])
