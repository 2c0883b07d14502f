"""The network being trained: model + auxiliary (multitask) heads + the loss, as one module.

Everything with parameters that training updates lives in ``TrainStep``, so DistributedDataParallel
synchronises all of it: the model, the auxiliary heads and the learned centres of centre/island/cluster
losses (which would otherwise drift apart on each rank).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ferkit.training.distill import Teachers, distillation_loss


class Heads(nn.Module):
    """Auxiliary heads sharing the model's features (multitask training)."""

    def __init__(self, num_features: int, label_sets: dict[str, tuple[str, ...]]):
        super().__init__()
        self.labels = label_sets
        self.heads = nn.ModuleDict({k: nn.Linear(num_features, len(v)) for k, v in label_sets.items()})


class JointNet(nn.Module):
    """Model + auxiliary heads. ``with_attention``: call ``model.forward_with_attention`` and hand its attention
    weights to the loss (a loss that declares ``needs_attention``, e.g. region_biased)."""

    def __init__(self, model: nn.Module, aux: Heads, with_attention: bool = False):
        super().__init__()
        self.model, self.aux = model, aux
        self.with_attention = with_attention

    def forward(self, x: torch.Tensor):
        extras = {}
        if self.with_attention:
            logits, feats, extras["attention"] = self.model.forward_with_attention(x)
        else:
            feats = self.model.forward_features(x)
            logits = self.model.forward_head(feats)
        dropped = self.model.drop(feats) if hasattr(self.model, "drop") else feats
        return logits, feats, {k: h(dropped) for k, h in self.aux.heads.items()}, extras


class TrainStep(nn.Module):
    """Forward pass and total loss of one batch.

    ``mask`` (bool per sample, or None when every sample has a main label) selects the samples of the main loss;
    an auxiliary target < 0 means "no label". Masking needs a boolean gather (a host sync), so the feed passes
    None whenever nothing is masked. Every term is multiplied in, never skipped, so all ranks use every
    parameter each step.
    """

    def __init__(
        self,
        net: JointNet,
        loss: nn.Module,
        aux_weight: float = 1.0,
        aux_smoothing: float = 0.0,
        teachers: Teachers | None = None,
        distill_weight: float = 0.0,
        aux_teachers: dict[str, Teachers] | None = None,
        distill_temperature: float = 4.0,
    ):
        super().__init__()
        self.net, self.loss = net, loss
        self.aux_weight, self.aux_smoothing = aux_weight, aux_smoothing
        self.teachers = teachers  # plain objects: their weights are not the student's
        self.aux_teachers = aux_teachers or {}
        self.distill_weight = distill_weight
        self.distill_temperature = distill_temperature  # of offline soft targets (online teachers carry theirs)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        mask: torch.Tensor | None,
        aux_targets: dict[str, torch.Tensor],
        aux_masked: bool,
        soft: dict[str, torch.Tensor] | None = None,
    ):
        """``soft``: offline distillation's per-sample soft targets per head ("main" or an auxiliary head)."""
        soft = soft or {}
        logits, feats, aux_logits, extras = self.net(x)
        if mask is None:
            loss = self.loss(logits.float(), y, features=feats.float(), **extras)
        else:
            extras = {k: {n: t[mask] for n, t in v.items()} for k, v in extras.items()}
            loss = (
                self.loss(logits[mask].float(), y[mask], features=feats[mask].float(), **extras)
                if mask.any()
                else 0.0 * logits.sum()
            )
        loss = self._distilled(loss, logits, x, self.teachers, soft.get("main"))
        for name, out in aux_logits.items():
            t = aux_targets[name]
            if not aux_masked:
                term = F.cross_entropy(out.float(), t, label_smoothing=self.aux_smoothing)
            else:
                ok = t >= 0
                term = (
                    F.cross_entropy(out[ok].float(), t[ok], label_smoothing=self.aux_smoothing)
                    if ok.any()
                    else 0.0 * out.sum()
                )
            loss = loss + self.aux_weight * self._distilled(term, out, x, self.aux_teachers.get(name), soft.get(name))
        return loss, logits

    def _distilled(
        self,
        label_loss: torch.Tensor,
        logits: torch.Tensor,
        x: torch.Tensor,
        teachers: Teachers | None,
        stored: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(1 - w) * label loss + w * soft-target loss of ``teachers`` on this batch, or of the ``stored`` soft
        targets (offline distillation); the label loss alone without either."""
        if not self.distill_weight or (not teachers and stored is None):
            return label_loss
        if stored is not None:
            soft, temperature = stored, self.distill_temperature
        else:
            soft, temperature = teachers.soft_targets(x), teachers.temperature
        w = self.distill_weight
        return (1 - w) * label_loss + w * distillation_loss(logits, soft, temperature)
