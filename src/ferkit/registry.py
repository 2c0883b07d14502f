"""The one registry shape every plug-in family uses (models, losses, datasets, face detectors).

A ``Registry`` maps names to builders. It imports nothing: each family's package imports its plug-in modules,
which register themselves, so a broken plug-in fails loudly at import instead of vanishing from the list.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Callable)


class Registry(Generic[T]):
    """Named builders of one ``kind`` ("model", "loss", ...); unknown names raise ``error`` listing the choices."""

    def __init__(self, kind: str, error: type[Exception]):
        self.kind, self.error = kind, error
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator registering a builder under ``name`` (default: its ``__name__``); duplicates raise."""

        def decorate(fn: T) -> T:
            key = name or fn.__name__
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} registered twice")
            self._entries[key] = fn
            return fn

        return decorate

    def names(self, pattern: str = "*") -> list[str]:
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        if name not in self._entries:
            raise self.error(f"unknown {self.kind} {name!r}; choose from {', '.join(self.names())}")
        return self._entries[name]
