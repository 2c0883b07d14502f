"""Degradations pinned exactly (quick lane, milliseconds): each batched op against a plain loop-by-loop NumPy
reference in float64 on tiny images, and the resampling matrices and quantisation tables entry by entry.

The reference implementations here are written from the definitions (a truncated Gaussian with reflect-101
borders; area averaging over [k*p, (k+1)*p); bilinear sampling at (u + 0.5) * n / S - 0.5; libjpeg's quality
scaling; the 8x8 block DCT), not from the batched code, so a one-character change to the batched code shows as
a difference far above float64 rounding."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from ferkit.transforms import degrade as D

EXACT = {"atol": 1e-12, "rtol": 0}


def noise(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ----- Gaussian blur -----------------------------------------------------------------------------------------------
def reference_blur(image: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    """One channel: the normalised Gaussian over [-radius, radius], rows then columns, reflect-101 borders."""
    t = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    h, w = image.shape

    def tap(i: int, n: int) -> int:  # reflect-101: -1 -> 1, n -> n - 2
        return -i if i < 0 else 2 * (n - 1) - i if i >= n else i

    rows = np.array([[sum(kernel[j] * image[y, tap(x + j - radius, w)] for j in range(len(t))) for x in range(w)]
                     for y in range(h)])  # fmt: skip
    return np.array([[sum(kernel[j] * rows[tap(y + j - radius, h), x] for j in range(len(t))) for x in range(w)]
                     for y in range(h)])  # fmt: skip


def blur_reference(x: torch.Tensor, sigmas, radius: int) -> torch.Tensor:
    out = np.stack(
        [
            np.stack([reference_blur(x[i, ch].numpy(), s, radius) for ch in range(x.shape[1])])
            for i, s in enumerate(sigmas)
        ]
    )
    return torch.from_numpy(out)


@pytest.mark.parametrize(
    "sigmas, max_sigma, radius",
    [
        ([0.9, 0.4], None, 3),  # radius = ceil(3 * 0.9) = 3 (not 2): the largest sigma of the batch
        ([0.3, 0.6], 1.1, 4),  # max_sigma sets the radius: ceil(3.3) = 4
        ([0.5], None, 2),  # ceil(1.5) = 2
        ([0.2], None, 1),  # ceil(0.6) = 1
    ],
)
def test_blur_is_the_truncated_gaussian_with_reflect_101_borders(sigmas, max_sigma, radius):
    x = noise(len(sigmas), 2, 9, 10)
    out = D.gaussian_blur(x, torch.tensor(sigmas, dtype=torch.float64), max_sigma=max_sigma)
    assert out.shape == x.shape and out.dtype == torch.float64
    torch.testing.assert_close(out, blur_reference(x, sigmas, radius), **EXACT)


@pytest.mark.parametrize("h, w", [(5, 8), (8, 5)])
def test_blur_radius_stops_one_short_of_the_smaller_side(h, w):
    x = noise(1, 1, h, w, seed=1)
    out = D.gaussian_blur(x, torch.tensor([3.0], dtype=torch.float64))  # ceil(9) = 9, cut to min(h, w) - 1 = 4
    torch.testing.assert_close(out, blur_reference(x, [3.0], 4), **EXACT)


def test_blur_radius_is_at_least_one_and_sigma_zero_changes_nothing():
    x = noise(2, 1, 2, 6, seed=2)  # min(h, w) - 1 = 1: the radius of a 2-row image
    out = D.gaussian_blur(x, torch.tensor([2.0, 0.7], dtype=torch.float64))
    torch.testing.assert_close(out, blur_reference(x, [2.0, 0.7], 1), **EXACT)
    y = noise(3, 1, 6, 7, seed=3)
    for sigma in (0.0, -1.0):  # clamped to 1e-3: the kernel is a single 1
        same = D.gaussian_blur(y, torch.full((3,), sigma, dtype=torch.float64), max_sigma=1.0)
        torch.testing.assert_close(same, y, atol=0, rtol=0)
    half = D.gaussian_blur(y, torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(half[1], blur_reference(y[1:2], [1.0], 3)[0], **EXACT)
    torch.testing.assert_close(half[[0, 2]], y[[0, 2]], atol=0, rtol=0)


def test_blur_sigma_of_a_thousandth_is_still_a_blur():
    # the clamp is at 1e-3, not above: sigma 0.2 keeps its own kernel (checked in the table above); here the
    # floor itself: a kernel of exp(-0.5 / 1e-6) off-centre is exactly a copy
    x = noise(1, 1, 4, 4, seed=4)
    torch.testing.assert_close(D.gaussian_blur(x, torch.tensor([1e-3], dtype=torch.float64)), x, atol=0, rtol=0)
    wide = D.gaussian_blur(x, torch.tensor([0.35], dtype=torch.float64))
    assert (wide - x).abs().max() > 1e-3


def test_blur_of_an_empty_batch_is_an_empty_copy():
    x = torch.zeros(0, 3, 5, 5)
    for op, arg in ((D.gaussian_blur, torch.zeros(0)), (D.downscale, torch.zeros(0)), (D.jpeg, torch.zeros(0))):
        out = op(x, arg)
        assert isinstance(out, torch.Tensor) and out.shape == (0, 3, 5, 5) and out is not x


# ----- downscale: area down, bilinear up ---------------------------------------------------------------------------
def test_area_down_matrix_entries():
    a = D._area_down(3, torch.tensor([2.0, 3.0, 1.0]), torch.float64)
    want = torch.tensor(
        [
            [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3], [0, 0, 0]],  # p = 1.5: overlaps of [0, 1.5) and [1.5, 3)
            [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
            [[1 / 3, 1 / 3, 1 / 3], [0, 0, 0], [0, 0, 0]],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(a, want, **EXACT)
    torch.testing.assert_close(
        D._area_down(4, torch.tensor([2]), torch.float64)[0],
        torch.tensor([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=torch.float64),
        **EXACT,
    )
    assert D._area_down(4, torch.tensor([3]), torch.float32).dtype == torch.float32


def test_bilinear_up_matrix_entries():
    b = D._bilinear_up(4, torch.tensor([2.0, 4.0, 1.0]), torch.float64)
    want = torch.tensor(
        [
            # samples at (u + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, held at the ends
            [[1, 0, 0, 0], [0.75, 0.25, 0, 0], [0.25, 0.75, 0, 0], [0, 1, 0, 0]],
            [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
            [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]],
        ],
        dtype=torch.float64,
    )
    torch.testing.assert_close(b, want, **EXACT)
    three = D._bilinear_up(5, torch.tensor([3]), torch.float64)[0]  # samples at 0.6 * u - 0.2 (0.1 apart of 1)
    t = [0.0, 0.4, 1.0, 1.6, 2.0]
    want3 = torch.zeros(5, 5, dtype=torch.float64)
    for u, s in enumerate(t):
        k = min(int(math.floor(s)), 2)
        want3[u, k] += 1 - (s - k)
        want3[u, min(k + 1, 2)] += s - k
    torch.testing.assert_close(three, want3, **EXACT)
    assert D._bilinear_up(4, torch.tensor([3]), torch.float32).dtype == torch.float32


def reference_area(image: np.ndarray, n_rows: int, n_cols: int) -> np.ndarray:
    """Each output pixel: the area-weighted mean of the source over its [k*p, (k+1)*p) box."""
    h, w = image.shape

    def weights(size: int, n: int) -> np.ndarray:
        p = size / n
        m = np.zeros((n, size))
        for k in range(n):
            for j in range(size):
                m[k, j] = max(0.0, min((k + 1) * p, j + 1) - max(k * p, j)) / p
        return m

    return weights(h, n_rows) @ image @ weights(w, n_cols).T


@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.55, 0.8, 1.0])
def test_downscale_is_area_down_then_torch_bilinear_up_on_non_square_images(fraction):
    x = noise(2, 2, 10, 7, seed=5)
    out = D.downscale(x, torch.full((2,), fraction, dtype=torch.float64))
    n_rows, n_cols = max(1, round(fraction * 10)), max(1, round(fraction * 7))
    small = torch.from_numpy(
        np.stack([np.stack([reference_area(x[i, c].numpy(), n_rows, n_cols) for c in range(2)]) for i in range(2)])
    )
    want = F.interpolate(small, size=(10, 7), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, want, **EXACT)


def test_downscale_sides_round_and_clamp_per_image():
    x = noise(4, 1, 6, 6, seed=6)
    out = D.downscale(x, torch.tensor([0.01, 1.7, 0.25, 0.42], dtype=torch.float64))
    torch.testing.assert_close(out[0], x[0].mean().expand(1, 6, 6), **EXACT)  # round(0.06) = 0 -> 1 pixel
    torch.testing.assert_close(out[1], x[1], **EXACT)  # 10.2 -> 6 pixels: unchanged
    for i, n in ((2, 2), (3, 3)):  # round(1.5) = 2 (half to even), round(2.52) = 3
        small = torch.from_numpy(reference_area(x[i, 0].numpy(), n, n)).view(1, 1, n, n)
        want = F.interpolate(small, size=(6, 6), mode="bilinear", align_corners=False)
        torch.testing.assert_close(out[i : i + 1], want, **EXACT)
    single = D.downscale(x[2:3].float(), torch.tensor([0.25]))
    assert single.dtype == torch.float32
    torch.testing.assert_close(single, out[2:3].float(), atol=1e-6, rtol=0)


# ----- JPEG --------------------------------------------------------------------------------------------------------
def libjpeg_table(quality: int) -> np.ndarray:
    """jpeg_quality_scaling + jpeg_add_quant_table (force_baseline) of libjpeg, written out."""
    quality = min(max(quality, 1), 100)
    scale = 5000 // quality if quality < 50 else 200 - quality * 2
    base = np.array(D.JPEG_LUMINANCE, dtype=np.int64).reshape(8, 8)
    return np.clip((base * scale + 50) // 100, 1, 255)


def test_luminance_table_is_annex_k():
    rows = """16 11 10 16 24 40 51 61 / 12 12 14 19 26 58 60 55 / 14 13 16 24 40 57 69 56 / 14 17 22 29 51 87 80 62 /
              18 22 37 56 68 109 103 77 / 24 35 55 64 81 104 113 92 / 49 64 78 87 103 121 120 101 /
              72 92 95 98 112 100 103 99"""  # ITU-T T.81 Table K.1, row by row
    assert D.JPEG_LUMINANCE == tuple(int(v) for v in rows.replace("/", " ").split())


def test_tables_for_every_quality_follow_libjpeg():
    qualities = torch.arange(-2, 104)
    tables = D.jpeg_table(qualities)
    assert tables.shape == (106, 8, 8) and tables.dtype == torch.float32
    for q, table in zip(qualities.tolist(), tables):
        assert np.array_equal(table.numpy(), libjpeg_table(q)), q
    assert D.jpeg_table(torch.tensor([49.9]), torch.float64).dtype == torch.float64
    assert np.array_equal(D.jpeg_table(torch.tensor([49.9]))[0].numpy(), libjpeg_table(49))  # truncated


def test_dct_matrix_is_the_orthonormal_dct_ii():
    for n in (8, 4, 3):
        d = D.dct_matrix(n, torch.float64)
        want = np.array(
            [[math.sqrt((1 if k == 0 else 2) / n) * math.cos(math.pi * (2 * i + 1) * k / (2 * n)) for i in range(n)]
             for k in range(n)]
        )  # fmt: skip
        np.testing.assert_allclose(d.numpy(), want, atol=1e-14, rtol=0)
    assert D.dct_matrix().shape == (8, 8) and D.dct_matrix().dtype == torch.float32
    assert D.dct_matrix(dtype=torch.float64).dtype == torch.float64


def reference_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """One channel in [0, 1]: edge-pad to multiples of 8, per 8x8 block level shift, DCT, quantise, inverse,
    round to 8 bits; the 8-bit result."""
    h, w = image.shape
    levels = np.pad(image * 255 - 128, ((0, -h % 8), (0, -w % 8)), mode="edge")
    n = 8
    d = np.array(
        [[math.sqrt((1 if k == 0 else 2) / n) * math.cos(math.pi * (2 * i + 1) * k / (2 * n)) for i in range(n)]
         for k in range(n)]
    )  # fmt: skip
    table = libjpeg_table(quality)
    out = np.zeros_like(levels)
    for by in range(0, levels.shape[0], 8):
        for bx in range(0, levels.shape[1], 8):
            coef = d @ levels[by : by + 8, bx : bx + 8] @ d.T
            out[by : by + 8, bx : bx + 8] = d.T @ (np.round(coef / table) * table) @ d
    return np.clip(np.round(out[:h, :w] + 128), 0, 255)


@pytest.mark.parametrize("h, w", [(16, 8), (11, 13), (8, 17)])
def test_jpeg_is_the_block_dct_quantisation_round_trip(h, w):
    x = noise(3, 2, h, w, seed=7)
    qualities = [10, 50, 90]
    out = D.jpeg(x, torch.tensor(qualities))
    assert out.shape == x.shape and out.dtype == torch.float64
    want = np.stack([np.stack([reference_jpeg(x[i, c].numpy(), q) for c in range(2)]) for i, q in enumerate(qualities)])
    np.testing.assert_array_equal((out * 255).round().numpy(), want)
    torch.testing.assert_close(out * 255, (out * 255).round(), atol=1e-9, rtol=0)  # 8-bit levels


def test_jpeg_clips_to_the_8_bit_range():
    x = torch.zeros(2, 1, 8, 8, dtype=torch.float64)
    x[:, :, ::2, ::2] = 1.0  # a checkerboard of extremes rings past 0 and 255 at low quality
    out = D.jpeg(x, torch.tensor([5, 30]))
    want = np.stack([reference_jpeg(x[i, 0].numpy(), q)[None] for i, q in enumerate((5, 30))])
    np.testing.assert_array_equal((out * 255).round().numpy(), want)
    assert out.min() == 0 and out.max() == 1


def smooth_face(size: int = 48, seed: int = 0) -> np.ndarray:
    """A face-like grey image: a lit oval on a gradient, two dark eyes and a mouth, a little noise."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = 60 + 80 * xx + 40 * yy
    image += 70 * np.exp(-(((xx - 0.5) / 0.3) ** 2 + ((yy - 0.5) / 0.4) ** 2))
    for cx, cy, r in ((0.35, 0.4, 0.05), (0.65, 0.4, 0.05), (0.5, 0.72, 0.08)):
        image -= 60 * np.exp(-(((xx - cx) / r) ** 2 + ((yy - cy) / (r / 2)) ** 2))
    image += np.random.default_rng(seed).normal(0, 4, image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 95])
def test_jpeg_matches_pillow_within_a_grey_level(quality):
    """Pillow is libjpeg (integer DCT, so not bit-exact): ours stays within a grey level on average, far below
    the change compression makes."""
    faces = [smooth_face(seed=s) for s in range(2)]
    ours = np.stack([(D.jpeg(torch.from_numpy(f).float().div(255)[None, None], torch.tensor([quality])) * 255)[0, 0]
                     .round().numpy() for f in faces])  # fmt: skip
    theirs = []
    for f in faces:
        buffer = io.BytesIO()
        Image.fromarray(f).save(buffer, format="JPEG", quality=quality)
        theirs.append(np.asarray(Image.open(buffer)).astype(float))
    theirs = np.stack(theirs)
    gap = np.abs(ours - theirs).mean()
    assert gap < 1.0, quality
    assert np.abs(theirs - np.stack(faces)).mean() > 5 * gap or quality >= 95, quality


def test_every_op_keeps_the_input_device_and_dtype():
    """Every tensor an op makes is made on the input's device: on the ``meta`` device (shapes only, no data) a
    tensor made on the CPU instead cannot mix with the input and raises, as it would on a GPU."""
    x = torch.rand(2, 1, 9, 10).to("meta")
    outs = (
        D.gaussian_blur(x, torch.tensor([1.0, 2.0]).to("meta"), max_sigma=2.0),
        D.downscale(x, torch.tensor([0.5, 0.3]).to("meta")),
        D.jpeg(x, torch.tensor([50, 60]).to("meta")),
    )
    for out in outs:
        assert out.device.type == "meta" and out.shape == (2, 1, 9, 10) and out.dtype == torch.float32
    assert D.dct_matrix(4, device="meta").device.type == "meta"


def test_sigmas_take_the_images_dtype():
    x = noise(2, 1, 7, 8, seed=8).float()
    sigmas = torch.tensor([0.9, 1.4], dtype=torch.float64)  # float64 sigmas on float32 images
    out = D.gaussian_blur(x, sigmas)
    assert out.dtype == torch.float32
    want = blur_reference(x.double(), [0.9, 1.4], 5)
    assert (out.double() - want).abs().max() < 1e-6


def test_sides_are_rounded_in_float64():
    # 0.35 in float32 is 0.3499999940...: times 10 that is 3.4999999 in float64 (3 pixels), but 3.5 in float32
    # arithmetic, which rounds to 4
    x = noise(1, 1, 10, 10, seed=9)
    out = D.downscale(x, torch.tensor([0.35], dtype=torch.float32))
    small = torch.from_numpy(reference_area(x[0, 0].numpy(), 3, 3)).view(1, 1, 3, 3)
    want = F.interpolate(small, size=(10, 10), mode="bilinear", align_corners=False)
    torch.testing.assert_close(out, want, **EXACT)


def test_jpeg_builds_its_dct_on_the_images_device_and_dtype(monkeypatch):
    # a CPU matrix times a meta (or CUDA) batch is not caught by every torch version: ask what it was built with
    seen = []
    original = D.dct_matrix

    def spy(n=8, dtype=torch.float32, device=None):
        seen.append((n, dtype, device))
        return original(n, dtype, device)

    monkeypatch.setattr(D, "dct_matrix", spy)
    D.jpeg(torch.zeros(1, 1, 8, 8, dtype=torch.float64, device="meta"), torch.tensor([50], device="meta"))
    assert seen == [(8, torch.float64, torch.device("meta"))]
