"""The optimiser and the learning-rate schedule of a training run.

The LR of every step is a pure function of the global step (``schedule.lr_factor``), so a resumed run continues
the same curve; only ``schedule.name: plateau`` keeps state (its ReduceLROnPlateau, saved in ``last.pt``), and
it owns the LR after the warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ferkit.training.config import OptimConfig, ScheduleConfig
from ferkit.training.schedule import lr_factor


def build_optimizer(
    o: OptimConfig, base_lr: float, model: nn.Module, aux: nn.Module, loss: nn.Module
) -> torch.optim.Optimizer:
    """SGD / Adam / AdamW over the model, the auxiliary heads and the loss's own parameters.

    Parameter groups by (decay?, head?): everything but the heads is the backbone, whose LR is
    lr * backbone_lr_mult (fine-tuning a pretrained backbone more gently than a fresh head). At the default
    multiplier of 1 the groups stay [decay, no_decay], so checkpoints of earlier runs still resume. A model may
    name more fresh, head-like parameters (``head_prefixes``, e.g. a RAN's attention units)."""
    split: dict[tuple[bool, bool], list] = {(d, h): [] for d in (True, False) for h in (True, False)}
    head_prefixes = tuple(getattr(model, "head_prefixes", ("head.",)))
    for module, is_head in ((model, False), (aux, True)):
        for name, p in module.named_parameters():
            if p.requires_grad:
                head = o.backbone_lr_mult != 1.0 and (is_head or name.startswith(head_prefixes))
                split[(p.ndim > 1, head)].append(p)
    groups = [
        {
            "params": split[(d, h)],
            "weight_decay": o.weight_decay if d else 0.0,
            "lr": base_lr * (1.0 if h else o.backbone_lr_mult),
            "lr_mult": 1.0 if h else o.backbone_lr_mult,
        }
        for d in (True, False)
        for h in (False, True)
        if split[(d, h)] or not h
    ]
    loss_params = [p for p in loss.parameters() if p.requires_grad]
    if loss_params:  # centres of centre/island/cluster losses: same optimiser step, own LR
        groups.append({"params": loss_params, "weight_decay": 0.0, "lr": o.loss_lr, "fixed_lr": True})
    # foreach: one fused kernel per parameter list instead of a Python loop over tensors (CPU and GPU)
    if o.name == "sgd":
        return torch.optim.SGD(groups, lr=base_lr, momentum=o.momentum, nesterov=o.nesterov, foreach=True)
    if o.name == "adam":
        return torch.optim.Adam(groups, lr=base_lr, foreach=True)
    return torch.optim.AdamW(groups, lr=base_lr, foreach=True)


@dataclass
class LRSchedule:
    """The LR of each step (``set_lr``) and, with ``plateau``, the per-epoch reduction on validation accuracy."""

    cfg: ScheduleConfig
    base_lr: float
    epochs: int
    steps_per_epoch: int
    plateau: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None

    def set_lr(self, optimizer: torch.optim.Optimizer, step: int) -> None:
        """The LR of global ``step`` into every group (groups with ``fixed_lr`` keep theirs)."""
        if self.plateau is not None and step >= int(self.cfg.warmup_epochs * self.steps_per_epoch):
            return  # the plateau scheduler owns the LR after warm-up
        f = lr_factor(self.cfg, step, self.steps_per_epoch, self.epochs, self.base_lr)
        for g in optimizer.param_groups:
            if not g.get("fixed_lr"):
                g["lr"] = self.base_lr * f * g.get("lr_mult", 1.0)

    def after_validation(self, val_acc: float) -> None:
        if self.plateau is not None:
            self.plateau.step(val_acc)


def build_schedule(
    cfg: ScheduleConfig, optimizer: torch.optim.Optimizer, base_lr: float, epochs: int, steps_per_epoch: int
) -> LRSchedule:
    plateau = None
    if cfg.name == "plateau":
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=cfg.min_lr
        )
    return LRSchedule(cfg, base_lr, epochs, steps_per_epoch, plateau)
