"""One registry of builder functions: ``create_model(name, num_classes=, in_chans=)``, ``list_models()``.

The registry imports nothing; the package ``ferkit.models`` imports every architecture module (``zoo``), so
a broken architecture fails loudly at import instead of vanishing from the list."""

from __future__ import annotations

from collections.abc import Callable

import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.registry import Registry

Builder = Callable[..., nn.Module]
MODELS: Registry[Builder] = Registry("model", ModelError)


def register_model(fn: Builder) -> Builder:
    """Decorator: register a builder under its function name. Duplicate names raise."""
    return MODELS.register()(fn)


def list_models(pattern: str = "*") -> list[str]:
    return MODELS.names(pattern)


def create_model(name: str, num_classes: int = 7, in_chans: int = 1, **kwargs) -> nn.Module:
    """Build a registered architecture with fresh weights."""
    builder = MODELS[name]
    try:
        model = builder(num_classes=num_classes, in_chans=in_chans, **kwargs)
    except TypeError as e:
        raise ModelError(f"model {name!r}: bad argument ({e})") from None
    model.arch_name = name
    return model
