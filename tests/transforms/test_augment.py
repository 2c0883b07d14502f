"""Batched online augmentation: shapes, ranges, determinism, and that each transform does what it says."""

from __future__ import annotations

import pytest
import torch

from ferkit.transforms.augment import AugmentConfig, BatchAugment, affine_matrices, random_erase
from ferkit.transforms.preprocess import Preprocess

OFF = dict(flip=0.0, rotate=0.0, scale=0.0, translate=0.0, brightness=0.0, contrast=0.0, noise=0.0, erase=0.0)


@pytest.fixture
def batch():
    return torch.rand(6, 1, 48, 48, generator=torch.Generator().manual_seed(0))


def test_shapes_and_range(batch):
    out = BatchAugment(AugmentConfig(noise=0.05), input_size=40, source_size=48, seed=1)(batch)
    assert out.shape == (6, 1, 40, 40) and out.dtype == torch.float32
    assert out.min() >= 0 and out.max() <= 1
    assert affine_matrices(5, AugmentConfig(), 1.0).shape == (5, 2, 3)


def test_determinism_with_seed_and_state(batch):
    cfg = AugmentConfig(noise=0.02)
    a = BatchAugment(cfg, 40, 48, seed=7)
    b = BatchAugment(cfg, 40, 48, seed=7)
    torch.testing.assert_close(a(batch), b(batch))
    assert not torch.equal(BatchAugment(cfg, 40, 48, seed=8)(batch), BatchAugment(cfg, 40, 48, seed=7)(batch))
    state = a.state_dict()
    first = a(batch)
    a.load_state_dict(state)
    torch.testing.assert_close(a(batch), first)


def test_no_augmentation_is_identity_and_crop_is_preprocess_centre_crop(batch):
    same = BatchAugment(AugmentConfig(**OFF), 48, 48)(batch)
    torch.testing.assert_close(same, batch, atol=1e-5, rtol=0)
    crop = BatchAugment(AugmentConfig(**OFF), 40, 48)(batch)
    torch.testing.assert_close(crop, Preprocess(source_size=48, input_size=40).centre_crop(batch), atol=1e-5, rtol=0)


def test_flip_really_mirrors(batch):
    out = BatchAugment(AugmentConfig(**{**OFF, "flip": 1.0}), 48, 48, seed=0)(batch)
    torch.testing.assert_close(out, batch.flip(-1), atol=1e-5, rtol=0)


def test_rotation_and_photometric_change_the_image(batch):
    rotated = BatchAugment(AugmentConfig(**{**OFF, "rotate": 30.0}), 48, 48, seed=0)(batch)
    assert (rotated - batch).abs().mean() > 0.05
    bright = BatchAugment(AugmentConfig(**{**OFF, "brightness": 0.5, "contrast": 0.5}), 48, 48, seed=0)(batch)
    assert not torch.allclose(bright, batch) and bright.min() >= 0 and bright.max() <= 1


def test_erase_changes_one_rectangle():
    x = torch.full((4, 1, 32, 32), 0.5)
    g = torch.Generator().manual_seed(3)
    out = random_erase(x, p=1.0, area=(0.1, 0.2), g=g)
    for img in out[:, 0]:
        changed = img != 0.5
        assert changed.any()
        rows, cols = changed.any(1).nonzero().flatten(), changed.any(0).nonzero().flatten()
        box = changed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.float().mean() > 0.95  # the changed pixels fill a rectangle (noise rarely hits 0.5 exactly)
        assert 0.05 * 32 * 32 <= box.numel() <= 0.3 * 32 * 32
    assert torch.equal(random_erase(x, p=0.0, area=(0.1, 0.2), g=g), x)
