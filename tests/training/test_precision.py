"""precision: auto | fp32 | bf16 and the device feed (no per-step host round trips, resumable generator)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.errors import ConfigError
from ferkit.training.feed import DeviceFeed, device_batches
from ferkit.training.precision import autocast, cpu_supports_bf16, resolve_precision
from ferkit.transforms.augment import AugmentConfig, BatchAugment
from ferkit.transforms.preprocess import Preprocess


def test_resolve_precision_on_cpu():
    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("auto", cpu) == ("bf16" if cpu_supports_bf16() else "fp32")
    with pytest.raises(ConfigError, match="precision"):
        resolve_precision("fp16", cpu)


def test_bf16_autocast_runs_convolutions_in_bf16():
    conv = torch.nn.Conv2d(1, 4, 3)
    x = torch.randn(2, 1, 8, 8)
    with autocast(torch.device("cpu"), "bf16"):
        assert conv(x).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), "fp32"):
        assert conv(x).dtype == torch.float32


def _feed(seed: int, channels_last: bool = True, rgb: bool = False) -> DeviceFeed:
    rng = np.random.default_rng(0)
    shape = (20, 48, 48, 3) if rgb else (20, 48, 48)
    images = rng.integers(0, 256, shape, dtype=np.uint8)
    chans = 3 if rgb else 1
    pre = Preprocess(48, 40, chans, [0.5] * chans, [0.25] * chans)
    aug = BatchAugment(AugmentConfig(noise=0.05), 40, 48, seed=seed)
    mask = np.ones(20, bool)
    mask[3] = False
    return DeviceFeed(
        images,
        rng.integers(0, 7, 20),
        torch.device("cpu"),
        aug,
        pre.normalise,
        mask=mask,
        aux={"x": np.arange(20) % 3},
        channels_last=channels_last,
    )


def test_device_feed_batches_and_resumes_its_random_stream():
    feed = _feed(seed=1)
    rows = device_batches(np.random.default_rng(0).permutation(20), 8, torch.device("cpu"))
    assert rows.shape == (2, 8) and bool((rows[:, 1:] >= rows[:, :-1]).all())  # sorted within each batch
    x, y, mask, aux = feed.batch(rows[0])
    assert x.shape == (8, 1, 40, 40) and x.dtype == torch.float32 and y.shape == (8,)
    assert mask is not None and mask.dtype == torch.bool and aux["x"].shape == (8,)
    state = feed.augment.state_dict()
    second = feed.batch(rows[1])[0]
    again = _feed(seed=99)
    again.augment.load_state_dict(state)  # a resumed run continues the same random stream
    assert torch.equal(again.batch(rows[1])[0], second)


def test_device_feed_rgb_channels_last():
    feed = _feed(seed=0, rgb=True)
    x = feed.batch(torch.arange(4))[0]
    assert x.shape == (4, 3, 40, 40) and x.is_contiguous(memory_format=torch.channels_last)
    assert _feed(seed=0).mask is not None and feed.aux_masked is False
