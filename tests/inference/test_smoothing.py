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
