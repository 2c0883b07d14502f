"""Offline augmentation into a new ArrayDataset."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data.base import ArrayDataset
from ferkit.transforms.augment import AugmentConfig
from ferkit.transforms.offline import augment_offline


@pytest.fixture
def ds():
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    return ArrayDataset(
        images=images,
        targets=np.arange(5),
        labels=("a", "b", "c", "d", "e"),
        name="toy",
        split="train",
        extra={"subject": np.array(list("vwxyz"))},
    )


def test_copies_layout_and_metadata(ds):
    out = augment_offline(ds, copies=3, seed=1)
    assert len(out) == 20 and out.images.dtype == np.uint8 and out.images.shape[1:] == (48, 48)
    np.testing.assert_array_equal(out.images[:5], ds.images)  # originals first
    assert out.extra["copy"].tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    np.testing.assert_array_equal(out.targets, ds.targets[out.extra["source"]])
    np.testing.assert_array_equal(out.extra["subject"], ds.extra["subject"][out.extra["source"]])
    assert out.info["offline_augment"]["copies"] == 3
    assert not np.array_equal(out.images[5:10], ds.images)


def test_deterministic_and_without_originals(ds):
    a = augment_offline(ds, copies=2, seed=4, keep_original=False, batch_size=2)
    b = augment_offline(ds, copies=2, seed=4, keep_original=False, batch_size=2)
    np.testing.assert_array_equal(a.images, b.images)
    assert len(a) == 10 and (a.extra["copy"] > 0).all()
    flip_only = AugmentConfig(flip=1.0, rotate=0, scale=0, translate=0, brightness=0, contrast=0, erase=0)
    mirrored = augment_offline(ds, copies=1, cfg=flip_only, keep_original=False)
    np.testing.assert_array_equal(mirrored.images, ds.images[:, :, ::-1])
    with pytest.raises(ValueError):
        augment_offline(ds, copies=0, keep_original=False)


def test_rgb_and_non_square_images():
    rng = np.random.default_rng(1)
    rgb = ArrayDataset(
        images=rng.integers(0, 256, (3, 40, 40, 3), dtype=np.uint8),
        targets=np.arange(3),
        labels=("a", "b", "c"),
        name="toy",
        split="train",
    )
    out = augment_offline(rgb, copies=2, seed=2)
    assert out.images.shape == (9, 40, 40, 3) and out.images.dtype == np.uint8
    flip_only = AugmentConfig(flip=1.0, rotate=0, scale=0, translate=0, brightness=0, contrast=0, erase=0)
    mirrored = augment_offline(rgb, copies=1, cfg=flip_only, keep_original=False)
    np.testing.assert_array_equal(mirrored.images, rgb.images[:, :, ::-1])  # channels stay in place
    wide = ArrayDataset(
        images=rng.integers(0, 256, (2, 24, 36), dtype=np.uint8),
        targets=np.arange(2),
        labels=("a", "b"),
        name="toy",
        split="train",
    )
    assert augment_offline(wide, copies=1, seed=0).images.shape == (4, 24, 36)
