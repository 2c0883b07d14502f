"""The prepare step: decode a dataset once into the memory-mapped cache and report what is there."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ferkit.data.base import ArrayDataset
from ferkit.data.registry import list_datasets, load_dataset
from ferkit.errors import DatasetError

_FER = ("fer2013", "ferplus")


def dataset_splits(
    name: str, data_root: str | os.PathLike | None = None, cache=None, progress: bool = True, **options
) -> list[str]:
    """Split names that together hold every image of a dataset once (e.g. Training, PublicTest; fold0..fold9)."""
    if name not in list_datasets():
        raise DatasetError(f"unknown dataset {name!r}; choose from {', '.join(list_datasets())}")
    if name in _FER:
        from ferkit.data.loaders_fer import fer2013_arrays

        usage = np.asarray(fer2013_arrays(data_root, cache, progress)["usage"])
        return list(dict.fromkeys(usage.tolist()))  # present splits, in file order
    from ferkit.data.loaders_folders import partition_splits

    return partition_splits(name, data_root, **{k: v for k, v in options.items() if k in ("folds", "path")})


def fer_cache_folder(data_root=None, cache=None) -> str:
    from ferkit.data import fer2013
    from ferkit.data.cache import cache_path, source_key
    from ferkit.settings import data_root as resolve_root

    return str(cache_path("fer2013", source_key(fer2013.find_csv(resolve_root(data_root))), cache))


@dataclass
class Prepared:
    name: str
    cache: str
    splits: dict[str, int] = field(default_factory=dict)


def load_splits(name: str, data_root=None, cache=None, progress: bool = True, **options) -> dict[str, ArrayDataset]:
    """Every partition split of a dataset, loaded (and therefore cached)."""
    names = dataset_splits(name, data_root, cache, progress, **options)
    return {s: load_dataset(name, s, data_root, cache=cache, progress=progress, **options) for s in names}


def prepare_dataset(name: str, data_root=None, cache=None, progress: bool = True, **options) -> Prepared:
    """Decode once into the cache; later loads memory-map it."""
    splits = load_splits(name, data_root, cache, progress, **options)
    folder = fer_cache_folder(data_root, cache) if name in _FER else next(iter(splits.values())).info.get("cache", "")
    return Prepared(name, folder, {s: len(ds) for s, ds in splits.items()})
