"""Image degradations of real photos, on whole batches of tensors: Gaussian blur, low resolution, JPEG.

Every function takes float (B,C,H,W) images in [0,1] and one parameter per image (a (B,) tensor on the same
device) and returns new images; nothing loops over images in Python:

* ``gaussian_blur``: separable blur, one kernel per image, as two grouped convolutions (reflect padding).
* ``downscale``: the round trip of a face that was small in the photo: area-average down to ``round(f*S)``
  pixels a side, then bilinear back up to ``S`` (what the aligner's upsampling of a small face gives). Both
  steps are per-image (S,S) resampling matrices, so the whole batch is two batched matrix products.
* ``jpeg``: JPEG compression artefacts: 8x8 block DCT, quantisation with the standard IJG luminance table
  scaled to the quality as libjpeg scales it, inverse DCT, rounding to 8-bit levels. Grey images are exactly
  the JPEG luminance path; each channel of an RGB image is treated like luminance (no chroma subsampling).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# ITU-T T.81 Annex K.1: the luminance quantisation table libjpeg scales by quality (row-major).
JPEG_LUMINANCE = (
    16,
    11,
    10,
    16,
    24,
    40,
    51,
    61,
    12,
    12,
    14,
    19,
    26,
    58,
    60,
    55,
    14,
    13,
    16,
    24,
    40,
    57,
    69,
    56,
    14,
    17,
    22,
    29,
    51,
    87,
    80,
    62,
    18,
    22,
    37,
    56,
    68,
    109,
    103,
    77,
    24,
    35,
    55,
    64,
    81,
    104,
    113,
    92,
    49,
    64,
    78,
    87,
    103,
    121,
    120,
    101,
    72,
    92,
    95,
    98,
    112,
    100,
    103,
    99,
)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, max_sigma: float | None = None) -> torch.Tensor:
    """Blur image i with a Gaussian of standard deviation ``sigma[i]`` pixels (0 or less: unchanged)."""
    b, c, h, w = x.shape
    if b == 0:
        return x.clone()
    sigma = sigma.to(x.dtype).clamp_min(1e-3)
    top = float(max_sigma if max_sigma is not None else sigma.max())
    radius = max(1, min(int(math.ceil(3 * top)), h - 1, w - 1))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (t.view(1, -1) / sigma.view(-1, 1)) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, K)
    flat = x.reshape(1, b * c, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel.view(b * c, 1, 1, -1), groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel.view(b * c, 1, -1, 1), groups=b * c)
    return flat.view(b, c, h, w)


def _area_down(size: int, n: torch.Tensor, dtype) -> torch.Tensor:
    """(B, size, size) matrices: row k < n[i] averages source pixels over [k*p, (k+1)*p), p = size / n[i]."""
    p = (size / n.to(dtype)).view(-1, 1, 1)
    k = torch.arange(size, device=n.device, dtype=dtype).view(1, -1, 1)
    j = torch.arange(size, device=n.device, dtype=dtype).view(1, 1, -1)
    overlap = (torch.minimum((k + 1) * p, j + 1) - torch.maximum(k * p, j)).clamp_min(0) / p
    return overlap * (k < n.view(-1, 1, 1)).to(dtype)


def _bilinear_up(size: int, n: torch.Tensor, dtype) -> torch.Tensor:
    """(B, size, size) matrices: bilinear upsampling of n[i] samples to ``size`` (align_corners=False), the
    columns k >= n[i] zero."""
    nf = n.to(dtype).view(-1, 1)
    u = torch.arange(size, device=n.device, dtype=dtype).view(1, -1)
    t = ((u + 0.5) * nf / size - 0.5).clamp_min(0)
    k0 = t.floor().clamp(max=nf - 1)
    frac = (t - k0).clamp(0, 1)
    k1 = (k0 + 1).clamp(max=nf - 1)
    cols = torch.arange(size, device=n.device, dtype=dtype).view(1, 1, -1)
    return (cols == k0.unsqueeze(-1)).to(dtype) * (1 - frac).unsqueeze(-1) + (cols == k1.unsqueeze(-1)).to(
        dtype
    ) * frac.unsqueeze(-1)


def downscale(x: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """Image i down to ``round(fraction[i] * side)`` pixels a side (area average) and back up (bilinear)."""
    b, c, h, w = x.shape
    if b == 0:
        return x.clone()

    def side(size: int) -> torch.Tensor:
        n = (fraction.to(torch.float64) * size).round().clamp(1, size)
        return _bilinear_up(size, n, x.dtype) @ _area_down(size, n, x.dtype)  # (B, size, size)

    rows, cols = side(h), side(w)
    return rows.unsqueeze(1) @ x @ cols.transpose(1, 2).unsqueeze(1)


def dct_matrix(n: int = 8, dtype=torch.float32, device=None) -> torch.Tensor:
    """The orthonormal DCT-II matrix (JPEG's forward DCT is ``D @ block @ D.T``)."""
    k = torch.arange(n, dtype=torch.float64).view(-1, 1)
    i = torch.arange(n, dtype=torch.float64).view(1, -1)
    d = torch.cos((2 * i + 1) * k * math.pi / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d.to(dtype=dtype, device=device)


def jpeg_table(quality: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """(B, 8, 8) quantisation tables for integer qualities 1..100, scaled as libjpeg's jpeg_quality_scaling
    and jpeg_add_quant_table do (baseline: entries clamped to 1..255)."""
    q = quality.to(torch.int64).clamp(1, 100)
    scale = torch.where(q < 50, 5000 // q, 200 - 2 * q).view(-1, 1, 1)
    base = torch.tensor(JPEG_LUMINANCE, dtype=torch.int64, device=quality.device).view(1, 8, 8)
    return ((base * scale + 50) // 100).clamp(1, 255).to(dtype)


def jpeg(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """JPEG-compress and decode image i at ``quality[i]`` (1..100); sides are edge-padded to multiples of 8."""
    b, c, h, w = x.shape
    if b == 0:
        return x.clone()
    ph, pw = -h % 8, -w % 8
    levels = x * 255 - 128
    if ph or pw:
        levels = F.pad(levels, (0, pw, 0, ph), mode="replicate")
    hh, ww = h + ph, w + pw
    d = dct_matrix(8, x.dtype, x.device)
    blocks = levels.reshape(b, c, hh // 8, 8, ww // 8, 8).transpose(3, 4)  # (B, C, by, bx, 8, 8)
    coef = d @ blocks @ d.T
    table = jpeg_table(quality, x.dtype).view(b, 1, 1, 1, 8, 8)
    coef = torch.round(coef / table) * table
    out = (d.T @ coef @ d).transpose(3, 4).reshape(b, c, hh, ww)[:, :, :h, :w]
    return (torch.round(out + 128).clamp(0, 255) / 255).to(x.dtype)


__all__ = ["JPEG_LUMINANCE", "dct_matrix", "downscale", "gaussian_blur", "jpeg", "jpeg_table"]
