"""Softmax-based losses: CE with label smoothing, soft-target CE, class-weighted CE, focal."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ferkit.losses.registry import register_loss


def class_weights_from_counts(class_counts, power: float = 1.0) -> torch.Tensor:
    """Weights inversely proportional to class frequency (mean weight 1); power<1 softens them."""
    counts = torch.as_tensor(np.asarray(class_counts, dtype=np.float64)).clamp_min(1.0)
    w = (counts.sum() / counts) ** power
    return (w / w.mean()).float()


def soft_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Cross-entropy against integer labels (B,) or probability targets (B,C)."""
    if targets.ndim == 1:
        return F.cross_entropy(logits, targets, weight=weight, label_smoothing=label_smoothing)
    if label_smoothing:
        targets = targets * (1 - label_smoothing) + label_smoothing / targets.shape[1]
    logp = F.log_softmax(logits, dim=1)
    per_sample = -(targets * logp * (weight.view(1, -1) if weight is not None else 1)).sum(1)
    return per_sample.mean()


@register_loss("cross_entropy")
class CrossEntropy(nn.Module):
    """CE for hard or soft targets; optional label smoothing."""

    needs_features = False

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, logits, targets, features=None):
        return soft_cross_entropy(logits, targets, label_smoothing=self.label_smoothing)


@register_loss("weighted_cross_entropy")
class WeightedCrossEntropy(nn.Module):
    """'Weighted-softmax' loss: classes weighted inversely to their share of the training data."""

    needs_features = False

    def __init__(self, class_counts=None, num_classes: int = 7, power: float = 1.0, label_smoothing: float = 0.0):
        super().__init__()
        counts = class_counts if class_counts is not None else np.ones(num_classes)
        self.register_buffer("weight", class_weights_from_counts(counts, power))
        self.label_smoothing = label_smoothing

    def forward(self, logits, targets, features=None):
        return soft_cross_entropy(logits, targets, weight=self.weight, label_smoothing=self.label_smoothing)


@register_loss("focal")
class FocalLoss(nn.Module):
    """Focal loss (Lin et al.): down-weights easy examples by (1-p_t)^gamma."""

    needs_features = False

    def __init__(self, gamma: float = 2.0, label_smoothing: float = 0.0):
        super().__init__()
        self.gamma, self.label_smoothing = gamma, label_smoothing

    def forward(self, logits, targets, features=None):
        logp = F.log_softmax(logits, 1)
        if targets.ndim == 1:
            targets = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
        if self.label_smoothing:
            targets = targets * (1 - self.label_smoothing) + self.label_smoothing / targets.shape[1]
        focal = (1 - logp.exp()) ** self.gamma
        return -(targets * focal * logp).sum(1).mean()


@register_loss("multi_target")
class MultiTargetLoss(nn.Module):
    """Multi-label learning of FERPlus (ML, Barsoum et al. 2016): ``-log max_k t_k p_k``.

    ``targets`` (B, C) hold 1 for every accepted emotion and a small epsilon for the others (data mode
    ``multi_target``), so predicting any accepted emotion is right. Integer targets are one-hot (plain NLL).
    """

    needs_features = False

    def forward(self, logits, targets, features=None):
        logp = F.log_softmax(logits, 1)
        if targets.ndim == 1:
            return F.nll_loss(logp, targets)
        # log(max_k t_k p_k) = max_k (log t_k + log p_k), computed in log space (no underflow)
        return -(targets.clamp_min(1e-12).log() + logp).amax(1).mean()
