"""Learning-rate schedules as pure functions of training progress (so resuming is exact)."""

from __future__ import annotations

import math

from ferkit.training.config import ScheduleConfig


def lr_factor(cfg: ScheduleConfig, step: int, steps_per_epoch: int, epochs: int, base_lr: float) -> float:
    """Multiplier of the base LR at a global step for step-wise schedules (cosine, onecycle, constant)."""
    total = max(1, steps_per_epoch * epochs)
    if cfg.name == "onecycle":
        warm = int(0.3 * total)
    else:
        warm = int(cfg.warmup_epochs * steps_per_epoch)
    if step < warm:
        return (step + 1) / warm
    if cfg.name in ("constant", "plateau"):
        return 1.0
    progress = (step - warm) / max(1, total - warm)
    floor = cfg.min_lr / base_lr
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
