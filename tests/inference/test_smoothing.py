import numpy as np
import pytest

from ferkit.inference.smoothing import Hysteresis, TemporalSmoother, VectorAverager


def test_mean_and_ema():
    m = VectorAverager("mean", window=2)
    m.update([1.0, 0.0])
    m.update([0.0, 1.0])
    assert np.allclose(m.update([0.0, 1.0]), [0.0, 1.0])  # window of 2
    e = VectorAverager("ema", alpha=0.5)
    e.update([1.0, 0.0])
    assert np.allclose(e.update([0.0, 1.0]), [0.5, 0.5])


def test_ema_weighs_the_new_frame_by_alpha():
    # alpha = 0.2: the new frame counts 0.2 and the running state 0.8 (a swap would give [0.2, 0.8])
    e = VectorAverager("ema", alpha=0.2)
    assert np.allclose(e.update([1.0, 0.0]), [1.0, 0.0])  # the first frame starts the state
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
    assert shown == [0] * 6  # alternating close calls: no flicker
    strong_b = np.array([0.2, 0.8])
    shown = [h.update(strong_b) for _ in range(3)]
    assert shown == [0, 0, 1]  # a clear, lasting change goes through


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


def test_defaults_and_float_output():
    e = VectorAverager()  # EMA with alpha 0.3
    e.update([1.0, 0.0])
    assert np.allclose(e.update([0.0, 1.0]), [0.7, 0.3])
    m = VectorAverager("mean")  # a window of 10 frames
    for v in range(12):
        out = m.update([float(v)])
    assert np.allclose(out, [np.mean(range(2, 12))])
    for kind in ("none", "ema", "mean"):
        assert VectorAverager(kind).update(np.array([1, 0])).dtype == np.float64, kind


@pytest.mark.parametrize("window", [0, 1])
def test_a_window_of_one_or_less_keeps_the_last_frame(window):
    m = VectorAverager("mean", window=window)
    m.update([1.0])
    assert np.allclose(m.update([3.0]), [3.0])


def test_hysteresis_switches_at_exactly_the_margin():
    h = Hysteresis(margin=0.25, patience=1)
    assert h.update(np.array([0.625, 0.375])) == 0
    assert h.update(np.array([0.375, 0.625])) == 1  # leads by exactly 0.25
    h = Hysteresis(margin=0.25, patience=1)
    h.update(np.array([0.625, 0.375]))
    assert h.update(np.array([0.4, 0.6])) == 0  # by less: no switch


def test_hysteresis_counts_one_challenger_at_a_time():
    h = Hysteresis(margin=0.1, patience=3)
    first, b, c = np.array([0.8, 0.1, 0.1]), np.array([0.1, 0.8, 0.1]), np.array([0.1, 0.1, 0.8])
    h.update(first)
    assert [h.update(p) for p in (b, b, c, c)] == [0, 0, 0, 0]  # b twice then c twice: nobody lasted 3 frames
    assert h.update(c) == 2  # the third c in a row
    assert [h.update(p) for p in (b, b, first, b, b)] == [2, 2, 2, 2, 2]  # a break restarts the count
    assert h.update(b) == 1


def test_smoother_hysteresis_settings_and_summaries():
    s = TemporalSmoother(method="mean", window=1, margin=0.3, patience=2)
    a, b = np.array([0.9, 0.1]), np.array([0.2, 0.8])
    assert [s.decide(5, p) for p in (a, b, b)] == [0, 0, 1]  # patience 2, margin 0.3 passed on
    near = TemporalSmoother(method="mean", margin=0.7, patience=1)
    assert [near.decide(1, p) for p in (a, b)] == [0, 0]  # 0.6 < 0.7: no switch
    plain = TemporalSmoother(method="mean", margin=None)
    assert [plain.decide(1, p) for p in (a, b, a)] == [0, 1, 0]  # no hysteresis: the top label each frame
    assert s.tracks[5].frames == 3 and np.allclose(s.tracks[5].prob_sum, a + 2 * b)
    assert s.tracks[5].hysteresis is not None and plain.tracks[1].hysteresis is None


@pytest.mark.parametrize(
    "method, expected",
    [
        ("feature-ema", [0.8, 0.2]),
        ("feature-mean", [0.5, 0.5]),
        ("ema", [0.8, 0.2]),
        ("mean", [0.5, 0.5]),
        ("none", [0.0, 1.0]),
    ],
)
def test_feature_methods_average_like_their_decision_twins(method, expected):
    s = TemporalSmoother(method=method, alpha=0.2, window=4)
    s.aggregate(0, np.array([1.0, 0.0]))
    assert np.allclose(s.aggregate(0, np.array([0.0, 1.0])), expected)


def test_dropping_unknown_tracks_is_harmless_and_message_names_the_choices():
    s = TemporalSmoother()
    s.aggregate(1, np.array([1.0, 0.0]))
    s.drop([1, 2, 3])
    assert s.tracks == {}
    with pytest.raises(ValueError, match="smoothing method must be one of .*'median'"):
        TemporalSmoother(method="median")
