"""Dataset registry: ``load_dataset(name, split, ...)`` for every supported format."""
from __future__ import annotations

import os
from typing import Callable

from ferkit.data.base import ArrayDataset
from ferkit.errors import DatasetError

Loader = Callable[..., ArrayDataset]
_LOADERS: dict[str, Loader] = {}


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Register ``fn(split, data_root=None, cache=None, progress=True, **options) -> ArrayDataset`` under ``name``."""
    def decorate(fn: Loader) -> Loader:
        if name in _LOADERS:
            raise ValueError(f"dataset {name!r} registered twice")
        _LOADERS[name] = fn
        return fn

    return decorate


def _ensure_builtin() -> None:
    # Imported lazily so that importing ferkit.data stays cheap.
    from ferkit.data import sources  # noqa: F401


def list_datasets() -> list[str]:
    _ensure_builtin()
    return sorted(_LOADERS)


def load_dataset(name: str, split: str, data_root: str | os.PathLike | None = None, **options) -> ArrayDataset:
    """Load one split of a named dataset. Options are dataset-specific (e.g. ``mode`` for ferplus)."""
    _ensure_builtin()
    if name not in _LOADERS:
        raise DatasetError(f"unknown dataset {name!r}; choose from {', '.join(sorted(_LOADERS))}")
    return _LOADERS[name](split=split, data_root=data_root, **options)
