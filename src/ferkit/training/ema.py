"""Exponential moving average of the trained weights (``ema_decay``): a copy of the model and of the auxiliary
heads, moved towards the live weights after every optimiser step."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


class EMA:
    """``model`` and ``aux``: the averaged copies (evaluated, checkpointed and shipped in place of the live ones)."""

    def __init__(self, model: nn.Module, aux: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        self.aux = copy.deepcopy(aux)
        # flat lists once: the per-step update is then two fused foreach calls
        pairs = [
            (e, p)
            for ema, live in ((self.model, model), (self.aux, aux))
            for e, p in zip(ema.state_dict().values(), live.state_dict().values())
        ]
        self._float = (
            [e for e, p in pairs if e.dtype.is_floating_point],
            [p for e, p in pairs if e.dtype.is_floating_point],
        )
        self._other = [(e, p) for e, p in pairs if not e.dtype.is_floating_point]

    @torch.no_grad()
    def update(self) -> None:
        ema, live = self._float
        torch._foreach_lerp_(ema, live, 1.0 - self.decay)
        for e, p in self._other:
            e.copy_(p)
