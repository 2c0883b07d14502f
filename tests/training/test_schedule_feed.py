import math

import numpy as np
import pytest

from ferkit.training import feed
from ferkit.training.config import ScheduleConfig
from ferkit.training.schedule import lr_factor


def test_cosine_warmup_then_anneals_to_floor():
    cfg = ScheduleConfig(name="cosine", warmup_epochs=1, min_lr=0.001)
    f = [lr_factor(cfg, s, 10, 5, 0.1) for s in range(50)]
    assert f[0] < f[5] < f[9] <= 1.0  # linear warm-up over the first epoch
    assert abs(f[10] - 1.0) < 1e-6
    assert all(a >= b for a, b in zip(f[10:], f[11:]))  # monotone decay
    assert abs(lr_factor(cfg, 50, 10, 5, 0.1) - 0.01) < 1e-6  # ends at min_lr / lr


def test_warmup_starts_at_one_step_and_reaches_the_full_rate_exactly():
    # 4 warm-up steps: (step + 1) / 4, so the very first step already trains (a rate of 0 would waste it)
    cfg = ScheduleConfig(name="cosine", warmup_epochs=1, min_lr=0.0)
    assert [lr_factor(cfg, s, 4, 3, 0.1) for s in range(4)] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    half = ScheduleConfig(name="constant", warmup_epochs=0.5)
    assert [lr_factor(half, s, 4, 3, 0.1) for s in range(4)] == pytest.approx([0.5, 1.0, 1.0, 1.0])


def test_cosine_values_after_warmup():
    cfg = ScheduleConfig(name="cosine", warmup_epochs=1, min_lr=0.01)
    # warm = 10 of 50 steps; step 30 is half-way through the remaining 40: floor + (1 - floor) / 2
    floor = 0.01 / 0.1
    assert lr_factor(cfg, 10, 10, 5, 0.1) == pytest.approx(1.0)
    assert lr_factor(cfg, 30, 10, 5, 0.1) == pytest.approx(floor + (1 - floor) * 0.5)
    assert lr_factor(cfg, 20, 10, 5, 0.1) == pytest.approx(floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(cfg, 80, 10, 5, 0.1) == pytest.approx(floor)  # past the end: stays at the floor
    none = ScheduleConfig(name="cosine", warmup_epochs=0, min_lr=0.0)
    assert lr_factor(none, 0, 10, 1, 0.1) == pytest.approx(1.0)  # no warm-up: starts at the full rate


def test_onecycle_warms_up_for_30_percent_then_anneals_to_the_floor():
    # onecycle ignores warmup_epochs: the first 30% of all steps warm up (here 3 of 10), then cosine down
    cfg = ScheduleConfig(name="onecycle", warmup_epochs=5, min_lr=0.002)
    f = [lr_factor(cfg, s, 5, 2, 0.1) for s in range(11)]
    floor = 0.02
    cosine = [floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (s - 3) / 7)) for s in range(3, 11)]
    assert f == pytest.approx([1 / 3, 2 / 3, 1.0, *cosine])
    assert f[10] == pytest.approx(floor) and max(f) == pytest.approx(1.0)
    long = [lr_factor(cfg, s, 100, 10, 0.1) for s in (0, 299, 300, 650, 1000)]
    assert long == pytest.approx([1 / 300, 1.0, 1.0, floor + (1 - floor) * 0.5, floor])


def test_one_step_runs_and_one_step_anneals_end_at_the_floor():
    cfg = ScheduleConfig(name="cosine", warmup_epochs=0, min_lr=0.01)
    assert [lr_factor(cfg, s, 1, 1, 0.1) for s in (0, 1)] == pytest.approx([1.0, 0.1])  # a one-step run
    warm = ScheduleConfig(name="cosine", warmup_epochs=1, min_lr=0.01)
    assert [lr_factor(warm, s, 1, 2, 0.1) for s in (0, 1, 2)] == pytest.approx([1.0, 1.0, 0.1])


@pytest.mark.parametrize("name", ["constant", "plateau"])
def test_constant_and_plateau_hold_the_rate_after_warmup(name):
    cfg = ScheduleConfig(name=name, warmup_epochs=1, min_lr=0.001)
    assert [lr_factor(cfg, s, 2, 4, 0.1) for s in (0, 1, 2, 7, 50)] == pytest.approx([0.5, 1.0, 1.0, 1.0, 1.0])


def test_epoch_order_is_a_function_of_seed_and_epoch():
    a = feed.epoch_order(100, 3, seed=7)
    assert np.array_equal(a, feed.epoch_order(100, 3, seed=7))
    assert not np.array_equal(a, feed.epoch_order(100, 4, seed=7))
    assert sorted(a) == list(range(100))


def test_ddp_shards_are_disjoint_and_equal_sized():
    r0 = feed.epoch_order(101, 0, 1, rank=0, world=2)
    r1 = feed.epoch_order(101, 0, 1, rank=1, world=2)
    assert len(r0) == len(r1) == 50 and not set(r0) & set(r1)


def test_balanced_weights_equalise_classes():
    labels = np.array([0] * 90 + [1] * 10 + [-1] * 5)
    w = feed.balanced_weights(labels, 2)
    assert abs(w[labels == 0].sum() - w[labels == 1].sum()) < 1e-9 and (w[labels == -1] == 0).all()
    order = feed.epoch_order(len(labels), 0, 0, weights=w)
    frac = (labels[order] == 1).mean()
    assert 0.35 < frac < 0.65
