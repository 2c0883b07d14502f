"""Calibration maths on hand-made cases and temperature scaling on a synthetic over-confident set."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ferkit.evaluation import calibration
from ferkit.evaluation.calibration import (
    calibration_metrics,
    cross_fitted_metrics,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    softmax,
)


def test_nll_by_hand():
    probs = np.array([[0.5, 0.5], [0.25, 0.75], [0.9, 0.1]])
    y = np.array([0, 1, 1])
    assert negative_log_likelihood(probs, y) == pytest.approx(-(math.log(0.5) + math.log(0.75) + math.log(0.1)) / 3)
    assert math.isfinite(negative_log_likelihood(np.array([[1.0, 0.0]]), np.array([1])))  # clipped, not inf


def test_ece_by_hand_one_bin():
    # four predictions at confidence 0.9, three right: ECE = |0.75 - 0.9| = 0.15
    probs = np.array([[0.9, 0.1]] * 4)
    y = np.array([0, 0, 0, 1])
    assert expected_calibration_error(probs, y) == pytest.approx(0.15)


def test_ece_by_hand_two_bins_weighted_by_count():
    # bin of 0.6 (2 images, 1 right: gap 0.1) and bin of 0.95 (2 images, 2 right: gap 0.05) -> 0.5*0.1 + 0.5*0.05
    probs = np.array([[0.6, 0.4], [0.6, 0.4], [0.95, 0.05], [0.05, 0.95]])
    y = np.array([0, 1, 0, 1])
    assert expected_calibration_error(probs, y) == pytest.approx(0.075)
    bins = reliability_bins(probs, y)
    assert bins["count"].sum() == 4 and len(bins["count"]) == 15
    assert bins["count"][8] == 2 and bins["count"][14] == 2  # 0.6 in (8/15, 9/15], 0.95 in (14/15, 1]


def test_bin_edges_are_right_closed():
    # a confidence of exactly 10/15 belongs to bin 9 ((9/15, 10/15]), not bin 10
    p = 10 / 15
    bins = reliability_bins(np.array([[p, 1 - p]]), np.array([0]))
    assert bins["count"][9] == 1 and bins["count"].sum() == 1


def test_perfectly_calibrated_sample_has_small_ece():
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 20000)
    correct = rng.uniform(size=conf.size) < conf
    probs = np.stack([conf, 1 - conf], 1)
    y = np.where(correct, 0, 1)
    assert expected_calibration_error(probs, y) < 0.02


def _overconfident_set(n=4000, k=7, scale=3.0, seed=0):
    """Labels drawn from softmax(z); the model reports scale * z (over-confident by a factor `scale`)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, k))
    p = softmax(z)
    y = np.array([rng.choice(k, p=row) for row in p])
    return scale * z, y


def test_temperature_fit_recovers_scale_and_reduces_nll():
    logits, y = _overconfident_set()
    t = fit_temperature(logits, y)
    assert t == pytest.approx(3.0, rel=0.1)
    raw, cal = softmax(logits), softmax(logits, t)
    assert negative_log_likelihood(cal, y) < negative_log_likelihood(raw, y) - 0.1
    assert expected_calibration_error(cal, y) < expected_calibration_error(raw, y)
    assert (cal.argmax(1) == raw.argmax(1)).all()  # accuracy cannot change
    # T minimises the NLL: nearby temperatures are no better
    for other in (0.9 * t, 1.1 * t):
        assert negative_log_likelihood(softmax(logits, other), y) >= negative_log_likelihood(cal, y)
    cross = cross_fitted_metrics(logits, y)
    assert cross["nll"] < negative_log_likelihood(raw, y)


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_cross_fitting_scores_each_fold_with_a_temperature_fitted_without_it(monkeypatch, folds):
    logits, y = _overconfident_set(n=301, seed=2)
    logits[:, 0] = np.arange(len(logits))  # column 0 names the row, so the rows each fit saw are known
    fits = []

    def recording_fit(z, labels, *args, **kwargs):
        rows = z[:, 0].astype(int)
        assert (labels == y[rows]).all()  # each row's own label travels with it
        t = 1.0 + len(fits)  # a different, known temperature per fit
        fits.append((set(rows.tolist()), t))
        return t

    monkeypatch.setattr(calibration, "fit_temperature", recording_fit)
    result = cross_fitted_metrics(logits, y, folds=folds, seed=4)
    assert len(fits) == folds
    everyone = set(range(len(y)))
    scored = [everyone - seen for seen, _ in fits]  # the fold each fit scores is every row it did not see
    assert sum(len(fold) for fold in scored) == len(y) and set().union(*scored) == everyone
    assert all(abs(len(fold) - len(y) / folds) < 1 for fold in scored)  # folds of equal size
    probs = np.zeros_like(logits)
    for fold, (_, t) in zip(scored, fits):
        rows = sorted(fold)
        probs[rows] = softmax(logits[rows], t)
    expected = calibration_metrics(probs, y)
    assert result["nll"] == pytest.approx(expected["nll"]) and result["ece"] == pytest.approx(expected["ece"])


def test_cross_fitted_folds_depend_on_the_seed(monkeypatch):
    logits, y = _overconfident_set(n=40, seed=3)
    logits[:, 0] = np.arange(len(logits))
    seen = []
    monkeypatch.setattr(calibration, "fit_temperature", lambda z, labels: seen.append(set(z[:, 0].astype(int))) or 1.0)
    cross_fitted_metrics(logits, y, folds=2, seed=0)
    cross_fitted_metrics(logits, y, folds=2, seed=0)
    cross_fitted_metrics(logits, y, folds=2, seed=1)
    assert seen[0] == seen[2] and seen[0] != seen[4]


def test_underconfident_set_gets_temperature_below_one():
    logits, y = _overconfident_set(scale=0.5, seed=1)
    assert fit_temperature(logits, y) == pytest.approx(0.5, rel=0.1)


def test_separable_set_hits_the_lower_bound_and_bad_input_raises():
    logits = np.array([[5.0, 0.0], [0.0, 5.0]])
    assert fit_temperature(logits, np.array([0, 1]), lo=0.05) == 0.05
    with pytest.raises(ValueError, match="NaN"):
        fit_temperature(np.array([[np.nan, 0.0]]), np.array([0]))
    with pytest.raises(ValueError, match="logits"):
        fit_temperature(np.zeros((3, 2)), np.zeros(2, int))


def test_softmax_is_row_wise_stable_and_float64():
    z = np.array([[1000.0, 999.0], [0.0, -1.0]])  # rows far apart: each row is shifted by its own max
    p = softmax(z)
    assert np.isfinite(p).all() and np.allclose(p[0], p[1]) and np.allclose(p.sum(1), 1)
    assert softmax(np.array([0.0, np.log(3.0)])).tolist() == pytest.approx([0.25, 0.75])  # one row, 1-D
    assert softmax(np.array([[1.0, 2.0]], np.float32)).dtype == np.float64
    assert softmax(np.array([[0.0, 2.0]]), temperature=2.0) == pytest.approx(softmax(np.array([[0.0, 1.0]])))


def test_nll_edge_cases_and_types():
    assert negative_log_likelihood(np.zeros((0, 3)), np.zeros(0, int)) == 0.0
    assert negative_log_likelihood(np.array([[0.5, 0.5]]), np.array([0])) == pytest.approx(math.log(2))
    p32 = np.array([[0.3, 0.7], [0.9, 0.1]], np.float32)
    exact = -(math.log(float(p32[0, 1])) + math.log(float(p32[1, 0]))) / 2
    assert negative_log_likelihood(p32, np.array([1.0, 0.0])) == pytest.approx(exact, rel=1e-13)


def test_reliability_bins_of_single_items_and_edges():
    bins = reliability_bins(np.array([[0.62, 0.38], [0.1, 0.9]]), np.array([1, 1]))
    assert bins["edges"].tolist() == pytest.approx(np.linspace(0, 1, 16).tolist())
    assert bins["count"].dtype == np.int64 and bins["count"][9] == 1 and bins["count"][13] == 1
    assert bins["confidence"][9] == pytest.approx(0.62) and bins["accuracy"][9] == 0.0  # one item, wrong
    assert bins["confidence"][13] == pytest.approx(0.9) and bins["accuracy"][13] == 1.0  # one item, right
    empty = [i for i in range(15) if i not in (9, 13)]
    assert (bins["confidence"][empty] == 0).all() and (bins["accuracy"][empty] == 0).all()


def test_confidences_at_the_ends_fall_in_the_end_bins():
    probs = np.array([[0.0, 0.0], [0.05, 0.01], [1.0 + 1e-15, 0.0]])  # 0 (degenerate), low, 1 plus rounding
    bins = reliability_bins(probs, np.array([0, 0, 0]))
    assert bins["count"][0] == 2 and bins["count"][14] == 1 and bins["count"].sum() == 3


@pytest.mark.parametrize("empty", [np.zeros((0, 3)), np.array([])])
def test_empty_sets_have_empty_bins(empty):
    bins = reliability_bins(empty, np.array([], int))
    assert bins["count"].tolist() == [0] * 15 and expected_calibration_error(empty, np.array([], int)) == 0.0


def test_bin_count_reaches_ece_and_metrics():
    # confidences 0.62 (right) and 0.68 (wrong): apart in 15 bins (9/15-10/15, 10/15-11/15), together in 10 bins
    probs = np.array([[0.62, 0.38], [0.68, 0.32]])
    y = np.array([0, 1])
    assert expected_calibration_error(probs, y) == pytest.approx(0.5 * 0.38 + 0.5 * 0.68)
    assert expected_calibration_error(probs, y, 10) == pytest.approx(0.15)
    assert calibration_metrics(probs, y, 10)["ece"] == pytest.approx(0.15)
    assert calibration_metrics(probs, y)["ece"] == pytest.approx(0.53)


def test_temperature_bounds_are_exact():
    flat = np.zeros((4, 3))  # every temperature fits equally: the upper bound
    assert fit_temperature(flat, np.array([0, 1, 2, 0])) == 20.0
    wrong = np.random.default_rng(3).normal(0, 1, (400, 5))  # always wrong: the best T is beyond any bound
    assert fit_temperature(wrong, wrong.argmin(1)) == 20.0
    logits, y = _overconfident_set(n=2000, scale=0.04, seed=5)  # wants T = 0.04, below the lower bound 0.05
    assert fit_temperature(logits, y) == 0.05


def test_temperature_between_ten_and_twenty_and_its_precision():
    from scipy.optimize import minimize_scalar

    logits, y = _overconfident_set(n=3000, scale=12.0, seed=6)
    t = fit_temperature(logits, y)
    assert 10.0 < t < 20.0
    best = minimize_scalar(
        lambda s: negative_log_likelihood(softmax(logits, s), y),
        bounds=(1, 20),
        method="bounded",
        options={"xatol": 1e-9},
    ).x
    assert t == pytest.approx(best, rel=2e-7)


def test_bad_logits_message():
    with pytest.raises(ValueError, match="^fit_temperature: logits contain NaN or infinity$"):
        fit_temperature(np.array([[np.inf, 0.0]]), np.array([0]))


def test_cross_fitting_defaults(monkeypatch):
    logits, y = _overconfident_set(n=60, seed=7)
    default = cross_fitted_metrics(logits, y)
    assert default == cross_fitted_metrics(logits, y, folds=2, seed=0)
    assert default != cross_fitted_metrics(logits, y, folds=2, seed=1)
    assert default != cross_fitted_metrics(logits, y, folds=3, seed=0)
    as32 = cross_fitted_metrics(logits.astype(np.float32), y)
    again = cross_fitted_metrics(logits.astype(np.float32).astype(np.float64), y)
    assert as32["nll"] == pytest.approx(again["nll"], rel=1e-12) and as32["ece"] == pytest.approx(
        again["ece"], rel=1e-12
    )


def test_float_labels_and_float32_confidences():
    logits, y = _overconfident_set(n=500, seed=8)
    assert fit_temperature(logits, y.astype(float)) == fit_temperature(logits, y)
    # float32 0.6 is 0.6000000238: in float64 times 15 it is past the 9/15 edge, so it belongs to bin 9
    probs = np.array([[0.6, 0.4]], np.float32)
    assert reliability_bins(probs, np.array([0]))["count"][9] == 1
