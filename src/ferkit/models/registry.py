"""One registry of builder functions: ``create_model(name, num_classes=, in_chans=)``, ``list_models()``."""
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


def _ensure_builtin() -> None:
    from ferkit.models import zoo  # noqa: F401  (imports every architecture module)


def list_models(pattern: str = "*") -> list[str]:
    _ensure_builtin()
    return sorted(n for n in _BUILDERS if fnmatch.fnmatch(n, pattern))


def create_model(name: str, num_classes: int = 7, in_chans: int = 1, **kwargs) -> nn.Module:
    """Build a registered architecture with fresh weights."""
    _ensure_builtin()
    if name not in _BUILDERS:
        raise ModelError(f"unknown model {name!r}; choose from {', '.join(sorted(_BUILDERS))}")
    try:
        model = _BUILDERS[name](num_classes=num_classes, in_chans=in_chans, **kwargs)
    except TypeError as e:
        raise ModelError(f"model {name!r}: bad argument ({e})") from None
    model.arch_name = name
    return model
