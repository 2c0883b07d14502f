"""The one preprocessing contract: uint8 crops (grey or RGB, any size) -> model tensors from Preprocess."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.evaluation.scoring import score_images
from ferkit.transforms.illumination import normalise_illumination
from ferkit.transforms.preprocess import Preprocess, match_channels, prepare_crops, resize_crops, to_float


def _crops(n=3, size=48, rgb=False, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3) if rgb else (n, size, size), dtype=np.uint8)


def test_grey_crops_to_tensors():
    pre = Preprocess(48, 40, 1, [0.5], [0.25])
    crops = _crops()
    x = pre(crops)
    assert x.shape == (3, 1, 40, 40)
    manual = (torch.from_numpy(crops).float() / 255 - 0.5) / 0.25
    assert torch.allclose(x[:, 0], manual[:, 4:44, 4:44], atol=1e-6)
    assert pre.tensors(crops, centre_crop=False).shape == (3, 1, 48, 48)


def test_any_size_and_colour_is_converted_to_the_models():
    rgb_pre = Preprocess(96, 80, 3, [0.5] * 3, [0.25] * 3)
    assert rgb_pre(_crops(size=48)).shape == (3, 3, 80, 80)  # grey 48-px -> RGB 96-px
    assert rgb_pre(_crops(size=120, rgb=True)).shape == (3, 3, 80, 80)
    grey_pre = Preprocess(48, 40, 1)
    colour = _crops(size=96, rgb=True)
    assert grey_pre(colour).shape == (3, 1, 40, 40)
    assert resize_crops(colour, 48).shape == (3, 48, 48, 3) and match_channels(colour, 1).shape == (3, 96, 96)
    assert to_float(colour).shape == (3, 3, 96, 96)


@pytest.mark.parametrize("rgb", [False, True])
def test_illumination_is_part_of_the_contract(rgb):
    pre = Preprocess(48, 40, 3 if rgb else 1, [0.5] * (3 if rgb else 1), [0.25] * (3 if rgb else 1), "hist_eq")
    crops = _crops(rgb=rgb) // 4  # dark crops: equalisation changes them
    prepared = prepare_crops(crops, pre)
    assert np.array_equal(prepared, normalise_illumination(crops, "hist_eq"))
    assert not np.array_equal(prepared, crops)
    assert torch.equal(pre(crops), pre(torch.from_numpy(prepared)))  # a tensor is taken as already prepared


def test_scores_use_the_same_contract():
    pre = Preprocess(48, 40, 1, [0.5], [0.25], "clahe")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(1600, 4))
    crops = _crops(n=5, size=64)  # any size: resized by the contract
    expected = net(pre(crops)).softmax(-1).detach().numpy()
    assert np.allclose(score_images(net, crops, pre, batch_size=2), expected, atol=1e-6)
