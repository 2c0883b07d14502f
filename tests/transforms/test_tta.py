"""Test-time augmentation views and probability averaging."""

from __future__ import annotations

import pytest
import torch

from ferkit.transforms.preprocess import Preprocess
from ferkit.transforms.tta import crops, predict_proba


@pytest.fixture
def x():
    return torch.arange(2 * 48 * 48, dtype=torch.float32).view(2, 1, 48, 48)


def test_none_is_preprocess_centre_crop(x):
    (view,) = crops(x, 40, "none")
    assert torch.equal(view, Preprocess(source_size=48, input_size=40).centre_crop(x))
    assert torch.equal(crops(x, 41, "none")[0], Preprocess(source_size=48, input_size=41).centre_crop(x))


def test_flip_gives_centre_and_mirror(x):
    a, b = crops(x, 40, "flip")
    assert torch.equal(b, a.flip(-1))


def test_tencrop_views(x):
    views = crops(x, 40, "tencrop")
    assert len(views) == 10 and all(v.shape == (2, 1, 40, 40) for v in views)
    assert torch.equal(views[0], x[..., :40, :40]) and torch.equal(views[3], x[..., 8:, 8:])
    assert torch.equal(views[4], Preprocess(source_size=48, input_size=40).centre_crop(x))
    for v, m in zip(views[:5], views[5:]):
        assert torch.equal(m, v.flip(-1))


def test_unknown_mode(x):
    with pytest.raises(ValueError, match="unknown TTA mode"):
        crops(x, 40, "twentycrop")


def test_predict_proba_averages_softmax(x):
    def forward(v):  # logits depend on the view's mean, so views differ
        m = v.mean(dim=(1, 2, 3)) / 1000
        return torch.stack([m, -m, torch.zeros_like(m)], 1)

    for mode, n in (("none", 1), ("flip", 2), ("tencrop", 10)):
        assert len(crops(x, 40, mode)) == n
        p = predict_proba(forward, x, 40, mode)
        assert p.shape == (2, 3)
        torch.testing.assert_close(p.sum(1), torch.ones(2))
        expected = torch.stack([forward(v).softmax(-1) for v in crops(x, 40, mode)]).mean(0)
        torch.testing.assert_close(p, expected)
