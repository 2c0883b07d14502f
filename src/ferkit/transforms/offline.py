"""Offline augmentation: write N augmented copies of every image into a new ArrayDataset.

Uses the same batched transform as online training (BatchAugment) at the source size, so an offline
copy looks like what the trainer would have drawn; grey (N, H, W) or RGB (N, H, W, 3) images of any size
(non-square images are warped at their longer side and resized back). Training uses it through
``data.offline_augment`` (``ferkit.training.offline_augment``); useful for tiny datasets (CK+, JAFFE) or for
exporting an enlarged set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ferkit.data.base import ArrayDataset
from ferkit.transforms.augment import AugmentConfig, BatchAugment
from ferkit.transforms.preprocess import to_float


def augmented_copies(
    images: np.ndarray,
    copies: int,
    cfg: AugmentConfig | None = None,
    seed: int = 0,
    batch_size: int = 512,
    progress: Callable[[int], object] | None = None,
) -> np.ndarray:
    """``copies`` augmented versions of uint8 ``images`` (N, H, W) or (N, H, W, 3): a (copies * N, ...) uint8
    array, copy 1 of every image first. Deterministic for a seed; ``progress(n)`` is told of each finished batch.
    """
    images = np.asarray(images)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 3), got {images.shape}")
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    n, h, w = images.shape[:3]
    side = max(h, w)
    aug = BatchAugment(cfg or AugmentConfig(), input_size=side, source_size=side, seed=seed)
    out = np.empty((copies * n,) + images.shape[1:], np.uint8)
    for c in range(copies):
        for start in range(0, n, batch_size):
            x = to_float(images[start : start + batch_size])  # (B, C, H, W)
            if (h, w) != (side, side):
                x = F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False)
            x = aug(x)
            if (h, w) != (side, side):
                x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
            x = x[:, 0] if images.ndim == 3 else x.permute(0, 2, 3, 1)
            out[c * n + start : c * n + start + len(x)] = x.mul(255).round_().clamp_(0, 255).to(torch.uint8).numpy()
            if progress is not None:
                progress(len(x))
    return out


def with_copies(
    ds: ArrayDataset, copy_images: np.ndarray, copies: int, keep_original: bool = True, info: dict | None = None
) -> ArrayDataset:
    """``ds`` joined by ``copies`` augmented versions of each image (``copy_images``, as ``augmented_copies``
    returns them), after the originals if kept. Targets and every ``extra`` array are repeated;
    ``extra['source']`` is the original index and ``extra['copy']`` is 0 for originals and 1..copies after."""
    n = len(ds)
    if len(copy_images) != copies * n:
        raise ValueError(f"{len(copy_images)} copy images for {copies} copies of {n} images")
    first = 0 if keep_original else 1
    if first > copies:
        raise ValueError("nothing to write: copies=0 and keep_original=False")
    parts = ([np.asarray(ds.images)] if keep_original else []) + [copy_images]
    index = np.tile(np.arange(n), copies + 1 - first)
    copy = np.repeat(np.arange(first, copies + 1), n)
    extra = {k: np.asarray(v)[index] for k, v in ds.extra.items()}
    extra.update(source=index, copy=copy)
    return ArrayDataset(
        images=np.concatenate(parts),
        targets=np.asarray(ds.targets)[index],
        labels=ds.labels,
        name=ds.name,
        split=ds.split,
        extra=extra,
        info=dict(ds.info, **(info or {})),
    )


def augment_offline(
    ds: ArrayDataset,
    copies: int,
    cfg: AugmentConfig | None = None,
    seed: int = 0,
    keep_original: bool = True,
    batch_size: int = 512,
) -> ArrayDataset:
    """Return a dataset with ``copies`` augmented versions of each image (after the originals if kept).

    Targets and every ``extra`` array are repeated; ``extra['source']`` is the original index and
    ``extra['copy']`` is 0 for originals and 1..copies for augmented versions. Deterministic for a seed.
    """
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    if copies == 0 and not keep_original:
        raise ValueError("nothing to write: copies=0 and keep_original=False")
    cfg = cfg or AugmentConfig()
    copy_images = augmented_copies(ds.images, copies, cfg, seed, batch_size)
    info = {
        "offline_augment": {"copies": copies, "seed": seed, "keep_original": keep_original, "config": cfg.to_dict()}
    }
    return with_copies(ds, copy_images, copies, keep_original, info)
