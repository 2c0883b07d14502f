"""Loss registry: ``build_loss(name, num_classes=, num_features=, class_counts=, **params)``. The registry imports
nothing; the package ``ferkit.losses`` imports the loss modules, which register themselves."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch.nn as nn

from ferkit.errors import ConfigError
from ferkit.registry import Registry

LOSSES: Registry[Callable[..., nn.Module]] = Registry("loss", ConfigError)


def register_loss(name: str):
    return LOSSES.register(name)


def list_losses() -> list[str]:
    return LOSSES.names()


def build_loss(name: str, *, num_classes: int, num_features: int, class_counts=None, **params) -> nn.Module:
    """Instantiate a loss; context arguments (num_classes, num_features, class_counts) are passed only to
    losses that accept them, and unknown params raise a ConfigError listing the valid ones."""
    cls = LOSSES[name]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    context = {"num_classes": num_classes, "num_features": num_features, "class_counts": class_counts}
    bad = sorted(set(params) - accepted)
    if bad:
        valid = sorted(accepted - set(context))
        raise ConfigError(f"loss {name!r} got unknown parameter(s) {bad}; valid: {valid}")
    kwargs = {k: v for k, v in context.items() if k in accepted}
    return cls(**kwargs, **params)
