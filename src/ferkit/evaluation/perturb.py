"""Synthetic perturbations of aligned grey face crops for robustness evaluation (occlusion, pose, photometric).

Every function is pure: uint8 (N, H, W) in, new uint8 (N, H, W) out, the input untouched; random ones take a
seed, so a perturbed test set is reproducible. Face regions are fractions of the crop side, placed with the
FER2013 face template (ferkit.faces.alignment.FER_TEMPLATE: eyes at y~0.38, nose tip 0.59, mouth 0.76).

``PERTURBATIONS`` names concrete settings (``occlude_eyes``, ``rotate_+15``, ``blur_1.5``, ``jpeg_30``,
``lowres_16``, ...) and ``FAMILIES`` groups them (``occlusion``, ``pose``, ``brightness``, ``contrast``, ``blur``,
``noise``, ``jpeg``, ``lowres``) for ``--perturb``. ``jpeg`` is a real libjpeg round trip (Pillow), ``lowres`` the
small face of a photo: area-resized down to a side of ``s`` pixels and bilinearly back up, as the aligner
upsamples it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

import cv2
import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the crop side

# Occluders sized on the template: an eye band (sunglasses), a mouth box (mask over the mouth), halves.
REGIONS: dict[str, Box] = {
    "eyes": (0.12, 0.25, 0.88, 0.50),
    "mouth": (0.25, 0.65, 0.75, 0.88),
    "upper": (0.0, 0.0, 1.0, 0.5),
    "lower": (0.0, 0.5, 1.0, 1.0),
    "left": (0.0, 0.0, 0.5, 1.0),  # left half of the image (the subject's right)
    "right": (0.5, 0.0, 1.0, 1.0),
}


def _check(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 (N, H, W) crops, got {images.dtype} {images.shape}")
    return images


def box_pixels(box: Box, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) pixel bounds of a fractional box."""
    x0, y0, x1, y1 = box
    return int(round(y0 * h)), int(round(y1 * h)), int(round(x0 * w)), int(round(x1 * w))


def occlude(images: np.ndarray, box: Box, fill: int = 0) -> np.ndarray:
    """Paint a fractional box with ``fill`` on every crop."""
    out = _check(images).copy()
    top, bottom, left, right = box_pixels(box, *out.shape[1:])
    out[:, top:bottom, left:right] = fill
    return out


def occlude_region(images: np.ndarray, region: str, fill: int = 0) -> np.ndarray:
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; choose from {', '.join(REGIONS)}")
    return occlude(images, REGIONS[region], fill)


def random_patches(images: np.ndarray, area: float = 0.25, count: int = 1, fill: int = 0, seed: int = 0) -> np.ndarray:
    """``count`` square patches per crop, each ``area`` of the crop, at seeded random positions."""
    out = _check(images).copy()
    n, h, w = out.shape
    side_h, side_w = max(1, int(round(h * np.sqrt(area)))), max(1, int(round(w * np.sqrt(area))))
    rng = np.random.default_rng(seed)
    tops = rng.integers(0, h - side_h + 1, size=(n, count))
    lefts = rng.integers(0, w - side_w + 1, size=(n, count))
    for i in range(n):
        for top, left in zip(tops[i], lefts[i]):
            out[i, top : top + side_h, left : left + side_w] = fill
    return out


def _warp(images: np.ndarray, matrix: np.ndarray, perspective: bool = False) -> np.ndarray:
    images = _check(images)
    h, w = images.shape[1:]
    warp = cv2.warpPerspective if perspective else cv2.warpAffine
    out = np.empty_like(images)
    for i, im in enumerate(images):
        out[i] = warp(im, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """In-plane rotation (roll) about the crop centre; counter-clockwise for positive angles."""
    h, w = _check(images).shape[1:]
    return _warp(images, cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0))


def squeeze(images: np.ndarray, factor: float) -> np.ndarray:
    """Horizontal compression by ``factor`` (< 1) about the centre: the foreshortening of a turned head."""
    h, w = _check(images).shape[1:]
    cx = (w - 1) / 2
    return _warp(images, np.array([[factor, 0.0, cx * (1 - factor)], [0.0, 1.0, 0.0]]))


def yaw(images: np.ndarray, amount: float) -> np.ndarray:
    """Yaw-like perspective: one side shrinks (vertically by ``amount``, horizontally by ``amount``/2) as if the
    face turned about its vertical axis; positive turns the right edge away, negative the left."""
    images = _check(images)
    if amount < 0:  # the mirror image of the positive turn
        return yaw(images[:, :, ::-1], -amount)[:, :, ::-1].copy()
    h, w = images.shape[1:]
    far_x = (w - 1) * (1 - amount / 2)
    dy = (h - 1) * amount / 2
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    dst = np.float32([[0, 0], [far_x, dy], [far_x, h - 1 - dy], [0, h - 1]])
    return _warp(np.ascontiguousarray(images), cv2.getPerspectiveTransform(src, dst), perspective=True)


def brightness(images: np.ndarray, delta: float) -> np.ndarray:
    """Add ``delta`` grey levels (clipped)."""
    return np.clip(_check(images).astype(np.float32) + delta, 0, 255).round().astype(np.uint8)


def contrast(images: np.ndarray, factor: float) -> np.ndarray:
    """Scale each crop's deviation from its own mean by ``factor`` (clipped)."""
    x = _check(images).astype(np.float32)
    mean = x.mean(axis=(1, 2), keepdims=True)
    return np.clip(mean + factor * (x - mean), 0, 255).round().astype(np.uint8)


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels."""
    images = _check(images)
    return (
        np.stack([cv2.GaussianBlur(im, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for im in images])
        if len(images)
        else images.copy()
    )


def noise(images: np.ndarray, std: float, seed: int = 0) -> np.ndarray:
    """Additive Gaussian noise of ``std`` grey levels (seeded, clipped)."""
    x = _check(images).astype(np.float32)
    x += np.random.default_rng(seed).normal(0.0, std, size=x.shape).astype(np.float32)
    return np.clip(x, 0, 255).round().astype(np.uint8)


def jpeg(images: np.ndarray, quality: int) -> np.ndarray:
    """Encode each crop as a JPEG of ``quality`` (1-100) with Pillow's libjpeg and decode it again."""
    images = _check(images)
    out = np.empty_like(images)
    for i, im in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(im).save(buffer, format="JPEG", quality=int(quality))
        out[i] = np.asarray(Image.open(buffer).convert("L"))
    return out


def lowres(images: np.ndarray, side: int) -> np.ndarray:
    """Area-resize each crop to ``side`` x ``side`` pixels and bilinearly back to its own size."""
    images = _check(images)
    h, w = images.shape[1:]
    out = np.empty_like(images)
    for i, im in enumerate(images):
        small = cv2.resize(im, (side, side), interpolation=cv2.INTER_AREA)
        out[i] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


Perturbation = Callable[[np.ndarray], np.ndarray]


def _catalogue() -> tuple[dict[str, Perturbation], dict[str, list[str]]]:
    table: dict[str, Perturbation] = {}
    families: dict[str, list[str]] = {}

    def add(family: str, name: str, fn: Perturbation) -> None:
        table[name] = fn
        families.setdefault(family, []).append(name)

    for region in REGIONS:
        add("occlusion", f"occlude_{region}", lambda x, r=region: occlude_region(x, r))
    for area in (0.1, 0.25):
        add("occlusion", f"patch_{area}", lambda x, a=area: random_patches(x, a, seed=0))
    for deg in (-30, -15, 15, 30):
        add("pose", f"rotate_{deg:+d}", lambda x, d=deg: rotate(x, d))
    for f in (0.8, 0.6):
        add("pose", f"squeeze_{f}", lambda x, f=f: squeeze(x, f))
    for a in (-0.3, 0.3):
        add("pose", f"yaw_{a:+.1f}", lambda x, a=a: yaw(x, a))
    for d in (-60, 60):
        add("brightness", f"brightness_{d:+d}", lambda x, d=d: brightness(x, d))
    for f in (0.5, 1.5):
        add("contrast", f"contrast_{f}", lambda x, f=f: contrast(x, f))
    for s in (1.0, 2.0):
        add("blur", f"blur_{s}", lambda x, s=s: blur(x, s))
    for s in (10, 25):
        add("noise", f"noise_{s}", lambda x, s=s: noise(x, s, seed=0))
    for q in (50, 25, 10):
        add("jpeg", f"jpeg_{q}", lambda x, q=q: jpeg(x, q))
    for side in (24, 16, 12):
        add("lowres", f"lowres_{side}", lambda x, s=side: lowres(x, s))
    return table, families


PERTURBATIONS, FAMILIES = _catalogue()


def resolve(names: Iterable[str]) -> list[str]:
    """Expand family names (and ``all``) into perturbation names, keeping order and dropping repeats."""
    out: list[str] = []
    for name in names:
        for part in str(name).split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                expanded = list(PERTURBATIONS)
            elif part in FAMILIES:
                expanded = FAMILIES[part]
            elif part in PERTURBATIONS:
                expanded = [part]
            else:
                raise ValueError(
                    f"unknown perturbation {part!r}; choose from all, {', '.join(FAMILIES)} or "
                    f"{', '.join(PERTURBATIONS)}"
                )
            out += [e for e in expanded if e not in out]
    return out


def family_of(name: str) -> str:
    return next(f for f, members in FAMILIES.items() if name in members)
