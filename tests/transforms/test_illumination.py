"""Histogram equalisation and CLAHE on grey uint8 faces."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.transforms.illumination import clahe, hist_eq, normalise_illumination


@pytest.fixture
def dim():
    """A low-contrast image: values 100..130 only."""
    return (np.random.default_rng(0).integers(100, 131, (48, 48))).astype(np.uint8)


def test_hist_eq_stretches_to_full_range(dim):
    out = hist_eq(dim)
    assert out.shape == dim.shape and out.dtype == np.uint8
    assert out.max() == 255 and out.min() < 20
    assert out.std() > 3 * dim.std()


def test_clahe_range_and_contrast(dim):
    out = clahe(dim)
    assert out.shape == dim.shape and out.dtype == np.uint8
    assert out.std() > dim.std()
    assert 0 <= out.min() and out.max() <= 255


def test_batch_single_and_unknown(dim):
    batch = np.stack([dim, 255 - dim])
    for method in ("hist_eq", "clahe"):
        out = normalise_illumination(batch, method)
        assert out.shape == batch.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[0], normalise_illumination(dim, method))
    assert normalise_illumination(batch, "none") is batch
    with pytest.raises(ValueError, match="unknown illumination method 'gamma'"):
        normalise_illumination(batch, "gamma")


def test_constant_image_stays_valid():
    flat = np.zeros((48, 48), np.uint8)
    for method in ("hist_eq", "clahe"):
        out = normalise_illumination(flat, method)
        assert out.dtype == np.uint8 and len(np.unique(out)) == 1
