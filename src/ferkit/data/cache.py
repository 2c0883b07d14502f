"""Decode-once cache: slow parsing runs once, later loads memory-map the arrays."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ferkit.io_utils import atomic_write, write_json
from ferkit.settings import cache_dir

CACHE_VERSION = 1


def source_key(*paths: Path, **params) -> str:
    """A key that changes when any source file (path, size, mtime) or parameter changes."""
    h = hashlib.sha1(f"v{CACHE_VERSION}".encode())
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def cache_path(name: str, key: str, cache: str | os.PathLike | None = None) -> Path:
    """The folder that holds (or will hold) the arrays of cache entry name-key."""
    return cache_dir(cache) / f"{name}-{key}"


def cached_arrays(
    name: str, key: str, build: Callable[[], dict[str, np.ndarray]], cache: str | os.PathLike | None = None
) -> dict[str, np.ndarray]:
    """Return arrays stored under cache/name-key/, building and saving them atomically if absent."""
    folder = cache_path(name, key, cache)
    manifest = folder / "manifest.json"
    if manifest.is_file():
        names = json.loads(manifest.read_text())["arrays"]
        return {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in names}
    arrays = build()
    folder.mkdir(parents=True, exist_ok=True)
    for n, arr in arrays.items():
        atomic_write(folder / f"{n}.npy", lambda tmp, a=arr: np.save(open(tmp, "wb"), np.ascontiguousarray(a)))
    write_json(manifest, {"arrays": list(arrays), "name": name, "key": key})  # written last: marks completion
    return {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in arrays}
