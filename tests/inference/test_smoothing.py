import numpy as np
import pytest

from ferkit.inference.smoothing import Hysteresis, TemporalSmoother, VectorAverager


def test_mean_and_ema():
    m = VectorAverager("mean", window=2)
    m.update([1.0, 0.0])
    m.update([0.0, 1.0])
    assert np.allclose(m.update([0.0, 1.0]), [0.0, 1.0])   # window of 2
    e = VectorAverager("ema", alpha=0.5)
    e.update([1.0, 0.0])
    assert np.allclose(e.update([0.0, 1.0]), [0.5, 0.5])


def test_ema_weighs_the_new_frame_by_alpha():
    # alpha = 0.2: the new frame counts 0.2 and the running state 0.8 (a swap would give [0.2, 0.8])
    e = VectorAverager("ema", alpha=0.2)
    assert np.allclose(e.update([1.0, 0.0]), [1.0, 0.0])      # the first frame starts the state
    assert np.allclose(e.update([0.0, 1.0]), [0.8, 0.2])
    assert np.allclose(e.update([0.0, 1.0]), [0.64, 0.36])
    s = TemporalSmoother(method="ema", alpha=0.9, margin=None)
    s.aggregate(7, np.array([1.0, 0.0]))
    assert np.allclose(s.aggregate(7, np.array([0.0, 1.0])), [0.1, 0.9])


def test_mean_window_and_none_pass_through():
    m = VectorAverager("mean", window=3)
    assert np.allclose([m.update([v]) for v in (3.0, 6.0, 0.0, 9.0)], [[3.0], [4.5], [3.0], [5.0]])
    n = VectorAverager("none")
    assert np.allclose(n.update([0.2, 0.8]), [0.2, 0.8]) and np.allclose(n.update([1.0, 0.0]), [1.0, 0.0])
    with pytest.raises(ValueError, match="median"):
        VectorAverager("median")


def test_hysteresis_prevents_flicker():
    h = Hysteresis(margin=0.1, patience=3)
    a, b = np.array([0.54, 0.46]), np.array([0.46, 0.54])
    shown = [h.update(p) for p in [a, b, a, b, a, b]]
    assert shown == [0] * 6                                   # alternating close calls: no flicker
    strong_b = np.array([0.2, 0.8])
    shown = [h.update(strong_b) for _ in range(3)]
    assert shown == [0, 0, 1]                                 # a clear, lasting change goes through


def test_smoother_resets_dropped_tracks():
    s = TemporalSmoother(method="ema", alpha=0.5, margin=None)
    s.aggregate(1, np.array([1.0, 0.0]))
    assert np.allclose(s.aggregate(1, np.array([0.0, 1.0])), [0.5, 0.5])
    s.drop([1])
    assert np.allclose(s.aggregate(1, np.array([0.0, 1.0])), [0.0, 1.0])


def test_feature_level_flag_and_validation():
    assert TemporalSmoother(method="feature-mean").feature_level
    assert not TemporalSmoother(method="mean").feature_level
    with pytest.raises(ValueError):
        TemporalSmoother(method="median")
