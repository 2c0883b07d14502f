"""``data.offline_augment``: K augmented copies of every training image, made once, cached like the decoded
datasets (``ferkit.data.cache``) and trained on as extra images, instead of or together with online
augmentation (``online``)."""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from ferkit.data.base import ArrayDataset
from ferkit.data.cache import cached_arrays
from ferkit.transforms.augment import AugmentConfig
from ferkit.transforms.offline import augmented_copies, with_copies

log = logging.getLogger(__name__)

# What the network sees when online augmentation is off: the centre crop only (no flip, warp, jitter, erase).
CENTRE_CROP = AugmentConfig(
    flip=0.0, rotate=0.0, scale=0.0, translate=0.0, brightness=0.0, contrast=0.0, noise=0.0, erase=0.0
)


def online_augment(cfg) -> AugmentConfig:
    """The per-batch augmentation of a run: ``cfg.augment``, or only the centre crop when offline copies
    replace online augmentation (``data.offline_augment.copies > 0`` and ``online: false``)."""
    offline = cfg.data.offline_augment
    return CENTRE_CROP if offline.copies and not offline.online else cfg.augment


def images_key(images: np.ndarray, **params) -> str:
    """Cache key of augmented copies: the images' bytes and shape, and every parameter of the augmentation."""
    h = hashlib.sha1(repr((images.shape, str(images.dtype), sorted(params.items()))).encode())
    h.update(np.ascontiguousarray(images).data)
    return h.hexdigest()[:16]


def offline_augmented(
    ds: ArrayDataset, offline, augment: AugmentConfig, cache=None, progress: bool = True
) -> ArrayDataset:
    """``ds`` with ``offline.copies`` augmented versions of every image (drawn with ``augment`` from
    ``offline.seed``) after the originals (``offline.keep_original``); the copies are read from the cache when
    the same images were augmented with the same settings before."""
    from tqdm import tqdm

    copies, seed = offline.copies, offline.seed
    key = images_key(np.asarray(ds.images), copies=copies, seed=seed, augment=augment.to_dict())

    def build() -> dict[str, np.ndarray]:
        log.info("offline augmentation: %d copies of %d training images", copies, len(ds))
        with tqdm(total=copies * len(ds), desc="offline augment", unit="img", disable=not progress, leave=False) as bar:
            return {"images": augmented_copies(ds.images, copies, augment, seed, progress=bar.update)}

    arrays = cached_arrays(f"{ds.name}-offline-augment", key, build, cache)
    info = {
        "offline_augment": {
            "copies": copies,
            "seed": seed,
            "keep_original": offline.keep_original,
            "online": offline.online,
            "cache_key": key,
        }
    }
    return with_copies(ds, np.asarray(arrays["images"]), copies, offline.keep_original, info)
