"""Batched degradations (blur, low resolution, JPEG): each matches its reference implementation, and the
augmentation that uses them leaves runs without them exactly as they were."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ferkit.transforms import augment as A
from ferkit.transforms import degrade as D
from ferkit.transforms.augment import AugmentConfig, BatchAugment, degrade_batch


@pytest.fixture
def batch():
    return torch.rand(6, 1, 48, 48, generator=torch.Generator().manual_seed(0))


def pil_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def torch_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    x = torch.from_numpy(image).float().div(255).view(1, 1, *image.shape)
    return (D.jpeg(x, torch.tensor([quality])) * 255).round().squeeze().numpy()


def test_dct_is_orthonormal_and_the_tables_follow_libjpeg():
    d = D.dct_matrix()
    torch.testing.assert_close(d @ d.T, torch.eye(8), atol=1e-6, rtol=0)
    tables = D.jpeg_table(torch.tensor([50, 100, 10, 75]))
    base = torch.tensor(D.JPEG_LUMINANCE, dtype=torch.float32).view(8, 8)
    torch.testing.assert_close(tables[0], base)  # quality 50: the table itself
    assert (tables[1] == 1).all()  # quality 100: all ones
    assert tables[2, 0, 0] == 80 and tables[2, 7, 7] == 255  # 5000/10 = 500%: 16*5=80, 99*5 clamped
    assert tables[3, 0, 0] == 8  # 200-150 = 50%: (16*50+50)//100


@pytest.mark.realdata  # loads the FER2013 CSV; test_degrade_exact.py compares with Pillow on a synthetic face
def test_jpeg_matches_pillow_on_a_real_face(data_root):
    from ferkit.data import load_dataset

    faces = np.asarray(load_dataset("fer2013", "PublicTest", data_root).images[:8])
    for quality in (10, 30, 50, 75, 95):
        ours = np.stack([torch_jpeg(f, quality) for f in faces])
        theirs = np.stack([pil_jpeg(f, quality) for f in faces]).astype(float)
        changed = np.abs(theirs - faces).mean()
        assert np.abs(ours - theirs).mean() < 1.0, quality  # within a grey level of libjpeg
        assert changed > 5 * np.abs(ours - theirs).mean() or quality >= 95, quality


def test_jpeg_quality_100_is_near_identity_and_low_quality_is_blocky(batch):
    x = (batch * 255).round() / 255
    assert (D.jpeg(x, torch.full((6,), 100)) - x).abs().mean() * 255 < 0.6
    smooth = torch.linspace(0, 1, 48).repeat(1, 1, 48, 1)
    low = D.jpeg(smooth, torch.tensor([5]))
    assert (low - smooth).abs().mean() * 255 > 1  # artefacts at quality 5
    odd = D.jpeg(torch.rand(2, 3, 37, 45), torch.tensor([50, 90]))  # any size, any channel count
    assert odd.shape == (2, 3, 37, 45) and 0 <= odd.min() and odd.max() <= 1


def test_downscale_is_area_down_then_bilinear_up(batch):
    for fraction, side in ((0.5, 24), (1 / 3, 16)):
        want = F.interpolate(
            F.interpolate(batch, size=side, mode="area"), size=48, mode="bilinear", align_corners=False
        )
        torch.testing.assert_close(D.downscale(batch, torch.full((6,), fraction)), want, atol=1e-5, rtol=0)
    torch.testing.assert_close(D.downscale(batch, torch.ones(6)), batch, atol=1e-6, rtol=0)
    mixed = D.downscale(batch, torch.tensor([0.5, 1 / 3, 1.0, 0.5, 0.25, 0.75]))
    torch.testing.assert_close(mixed[4:5], D.downscale(batch[4:5], torch.tensor([0.25])), atol=1e-6, rtol=0)
    torch.testing.assert_close(mixed[2], batch[2], atol=1e-6, rtol=0)
    flat = torch.full((1, 1, 40, 40), 0.3)
    torch.testing.assert_close(D.downscale(flat, torch.tensor([0.37])), flat, atol=1e-6, rtol=0)


def test_blur_matches_opencv_per_image(batch):
    sigmas = torch.tensor([0.5, 1.0, 1.5, 2.0, 0.8, 1.2])
    out = D.gaussian_blur(batch, sigmas, max_sigma=2.0)
    for i, s in enumerate(sigmas.tolist()):
        ref = cv2.GaussianBlur(batch[i, 0].numpy(), (13, 13), s, borderType=cv2.BORDER_REFLECT_101)
        np.testing.assert_allclose(out[i, 0].numpy(), ref, atol=2e-3)
    assert out.std() < batch.std()
    flat = torch.full((2, 3, 20, 20), 0.6)
    torch.testing.assert_close(D.gaussian_blur(flat, torch.tensor([1.0, 3.0])), flat, atol=1e-6, rtol=0)


def test_defaults_draw_nothing_and_leave_the_augmented_stream_bit_identical(batch, monkeypatch):
    g = torch.Generator().manual_seed(5)
    state = g.get_state()
    assert degrade_batch(batch, AugmentConfig(), g) is batch
    assert torch.equal(g.get_state(), state)  # no random number drawn
    with_ops = BatchAugment(AugmentConfig(), 40, 48, seed=3)
    first = torch.cat([with_ops(batch) for _ in range(3)])
    monkeypatch.setattr(A, "degrade_batch", lambda x, cfg, g=None: x)  # the augmentation before the new ops
    without = BatchAugment(AugmentConfig(), 40, 48, seed=3)
    assert torch.equal(first, torch.cat([without(batch) for _ in range(3)]))


def test_default_stream_matches_the_recorded_one():
    # recorded with the augmentation as it was before the degradations existed (same seed and input)
    x = torch.rand(64, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    aug = BatchAugment(AugmentConfig(), 40, 48, seed=3)
    total = float(torch.cat([aug(x) for _ in range(3)]).double().sum())
    assert total == pytest.approx(152901.125, abs=0.05)


def test_enabled_ops_touch_only_the_chosen_images_reproducibly(batch):
    for key in ("blur", "downscale", "jpeg"):
        cfg = AugmentConfig(**{key: 0.5})
        out = degrade_batch(batch, cfg, torch.Generator().manual_seed(2))
        again = degrade_batch(batch, cfg, torch.Generator().manual_seed(2))
        assert torch.equal(out, again), key
        changed = (out - batch).abs().flatten(1).amax(1) > 0
        assert 0 < changed.sum() < 6 or key == "downscale", key  # a downscale near 1 may change little
        every = degrade_batch(batch, AugmentConfig(**{key: 1.0}), torch.Generator().manual_seed(2))
        assert ((every - batch).abs().flatten(1).amax(1) > 0).all(), key
    full = BatchAugment(AugmentConfig(blur=0.5, downscale=0.5, jpeg=0.5), 40, 48, seed=1)(batch)
    assert full.shape == (6, 1, 40, 40) and 0 <= full.min() and full.max() <= 1


def test_jpeg_quality_draws_stay_in_range(monkeypatch):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(256, 1, 16, 16, generator=g)
    seen = []
    original = D.jpeg

    def spy(images, quality):
        seen.append(quality)
        return original(images, quality)

    monkeypatch.setattr(D, "jpeg", spy)
    degrade_batch(x, AugmentConfig(jpeg=1.0, jpeg_quality=(20, 22)), g)
    q = torch.cat(seen)
    assert set(q.long().tolist()) == {20, 21, 22}


def test_whole_batch_path_for_gpu_feeds_gives_the_subset_path_values(batch):
    """On a GPU the ops run on the whole batch and keep the result where chosen (no host sync for the indices);
    the CPU runs them on the chosen images only. Same draws, same images, same values."""
    cfg = AugmentConfig(blur=0.5, downscale=0.5, jpeg=0.5)
    subset = degrade_batch(batch, cfg, torch.Generator().manual_seed(4), subset=True)
    whole = degrade_batch(batch, cfg, torch.Generator().manual_seed(4), subset=False)
    assert not torch.equal(subset, batch)
    assert torch.allclose(subset, whole, atol=1e-5), (subset - whole).abs().max()
