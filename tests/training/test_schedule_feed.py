import numpy as np

from ferkit.training import feed
from ferkit.training.config import ScheduleConfig
from ferkit.training.schedule import lr_factor


def test_cosine_warmup_then_anneals_to_floor():
    cfg = ScheduleConfig(name="cosine", warmup_epochs=1, min_lr=0.001)
    f = [lr_factor(cfg, s, 10, 5, 0.1) for s in range(50)]
    assert f[0] < f[5] < f[9] <= 1.0           # linear warm-up over the first epoch
    assert abs(f[10] - 1.0) < 1e-6
    assert all(a >= b for a, b in zip(f[10:], f[11:]))  # monotone decay
    assert abs(lr_factor(cfg, 50, 10, 5, 0.1) - 0.01) < 1e-6  # ends at min_lr / lr


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
