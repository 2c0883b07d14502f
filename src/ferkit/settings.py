"""Where things live: the data root comes from a flag or FERKIT_DATA, never from a hard-coded path."""

from __future__ import annotations

import os
from pathlib import Path

from ferkit.errors import DatasetError

DATA_ENV = "FERKIT_DATA"
CACHE_ENV = "FERKIT_CACHE"


def data_root(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the dataset root: the explicit argument, else $FERKIT_DATA, else an error."""
    value = explicit if explicit is not None else os.environ.get(DATA_ENV)
    if not value:
        raise DatasetError(f"no data root given: pass --data-root DIR or set {DATA_ENV}=DIR")
    root = Path(value).expanduser()
    if not root.is_dir():
        raise DatasetError(f"data root {str(root)!r} is not a directory (from --data-root or {DATA_ENV})")
    return root


def cache_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Folder for prepared dataset caches: explicit, else $FERKIT_CACHE, else ~/.cache/ferkit."""
    value = explicit or os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "ferkit"
    path = Path(value).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
