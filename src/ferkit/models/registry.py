"""One registry of builder functions: ``create_model(name, num_classes=, in_chans=)``, ``list_models()``.

The registry imports nothing; the package ``ferkit.models`` imports every architecture module (``zoo``), so
a broken architecture fails loudly at import instead of vanishing from the list."""
from __future__ import annotations

import fnmatch
from typing import Callable

import torch.nn as nn

from ferkit.errors import ModelError

Builder = Callable[..., nn.Module]
_BUILDERS: dict[str, Builder] = {}


def register_model(fn: Builder) -> Builder:
    """Decorator: register a builder under its function name. Duplicate names raise."""
    name = fn.__name__
    if name in _BUILDERS:
        raise ValueError(f"model {name!r} registered twice")
    _BUILDERS[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    return sorted(n for n in _BUILDERS if fnmatch.fnmatch(n, pattern))


def create_model(name: str, num_classes: int = 7, in_chans: int = 1, **kwargs) -> nn.Module:
    """Build a registered architecture with fresh weights."""
    if name not in _BUILDERS:
        raise ModelError(f"unknown model {name!r}; choose from {', '.join(sorted(_BUILDERS))}")
    try:
        model = _BUILDERS[name](num_classes=num_classes, in_chans=in_chans, **kwargs)
    except TypeError as e:
        raise ModelError(f"model {name!r}: bad argument ({e})") from None
    model.arch_name = name
    return model
