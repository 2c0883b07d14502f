"""Dataset registry: ``load_dataset(name, split, ...)`` for every supported format. The registry imports
nothing; the package ``ferkit.data`` imports the loader modules, which register themselves."""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable

from ferkit.data.base import ArrayDataset
from ferkit.errors import DatasetError
from ferkit.registry import Registry

Loader = Callable[..., ArrayDataset]
DATASETS: Registry[Loader] = Registry("dataset", DatasetError)


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Register ``fn(split, data_root=None, cache=None, progress=True, **options) -> ArrayDataset`` under ``name``."""
    return DATASETS.register(name)


def list_datasets() -> list[str]:
    return DATASETS.names()


def load_dataset(
    name: str,
    split: str,
    data_root: str | os.PathLike | None = None,
    size: int | None = None,
    in_chans: int | None = None,
    **options,
) -> ArrayDataset:
    """Load one split of a named dataset. Options are dataset-specific (e.g. ``mode`` for ferplus).

    ``size`` / ``in_chans``: the crops' side and channels (1 grey, 3 RGB). A reader that takes them decodes at
    that size and colour (and caches under a key that includes them); any other reader's crops are resized and
    converted afterwards (FER2013's 48-px grey pixels to 96-px RGB, say)."""
    fn = DATASETS[name]
    accepted = inspect.signature(fn).parameters
    for key, value in (("size", size), ("in_chans", in_chans)):
        if value is not None and key in accepted:
            options[key] = value
    return conform(fn(split=split, data_root=data_root, **options), size, in_chans)


def conform(ds: ArrayDataset, size: int | None, in_chans: int | None) -> ArrayDataset:
    """``ds`` with its crops at ``size`` and ``in_chans`` (None: as they are)."""
    from ferkit.transforms.preprocess import match_channels, resize_crops

    images = ds.images
    if size is not None and images.shape[1:3] != (size, size):
        images = resize_crops(images, size)
    if in_chans is not None and (images.ndim == 4) != (in_chans == 3):
        images = match_channels(images, in_chans)
    if images is ds.images:
        return ds
    return ArrayDataset(
        images=images,
        targets=ds.targets,
        labels=ds.labels,
        name=ds.name,
        split=ds.split,
        extra=ds.extra,
        info=dict(ds.info, converted={"size": size, "in_chans": in_chans}),
    )
