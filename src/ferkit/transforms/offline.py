"""Offline augmentation: write N augmented copies of every image into a new ArrayDataset.

Uses the same batched transform as online training (BatchAugment) at the source size, so an offline
copy looks like what the trainer would have drawn; useful for tiny datasets (CK+, JAFFE) or for
exporting an enlarged set.
"""
from __future__ import annotations

import numpy as np
import torch

from ferkit.data.base import ArrayDataset
from ferkit.transforms.augment import AugmentConfig, BatchAugment
from ferkit.transforms.preprocess import to_float


def augment_offline(ds: ArrayDataset, copies: int, cfg: AugmentConfig | None = None, seed: int = 0,
                    keep_original: bool = True, batch_size: int = 512) -> ArrayDataset:
    """Return a dataset with ``copies`` augmented versions of each image (after the originals if kept).

    Targets and every ``extra`` array are repeated; ``extra['source']`` is the original index and
    ``extra['copy']`` is 0 for originals and 1..copies for augmented versions. Deterministic for a seed.
    """
    if copies < 0:
        raise ValueError(f"copies must be >= 0, got {copies}")
    cfg = cfg or AugmentConfig()
    n, h, w = ds.images.shape
    if h != w:
        raise ValueError(f"offline augmentation needs square images, got {h}x{w}")
    aug = BatchAugment(cfg, input_size=h, source_size=h, seed=seed)
    parts, source, copy = ([np.asarray(ds.images)], [np.arange(n)], [np.zeros(n, np.int64)]) if keep_original \
        else ([], [], [])
    for c in range(1, copies + 1):
        out = np.empty_like(np.asarray(ds.images))
        for start in range(0, n, batch_size):
            res = aug(to_float(ds.images[start:start + batch_size]))[:, 0]
            out[start:start + len(res)] = res.mul_(255).round_().clamp_(0, 255).to(torch.uint8).numpy()
        parts.append(out)
        source.append(np.arange(n))
        copy.append(np.full(n, c, np.int64))
    if not parts:
        raise ValueError("nothing to write: copies=0 and keep_original=False")
    index = np.concatenate(source)
    extra = {k: np.asarray(v)[index] for k, v in ds.extra.items()}
    extra.update(source=index, copy=np.concatenate(copy))
    info = dict(ds.info, offline_augment={"copies": copies, "seed": seed, "keep_original": keep_original,
                                          "config": cfg.to_dict()})
    return ArrayDataset(images=np.concatenate(parts), targets=np.asarray(ds.targets)[index], labels=ds.labels,
                        name=ds.name, split=ds.split, extra=extra, info=info)
