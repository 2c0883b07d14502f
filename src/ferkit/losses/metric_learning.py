"""Softmax plus a feature-space term with learned class centres: centre, island and weighted-cluster losses.

Each loss is ``CE(logits, targets) + lambda * aux(features, centres)``. The centres are an nn.Parameter,
so the trainer puts them in their own optimiser group (``optim.loss_lr``). As in the papers, the
centres follow the gradient of the auxiliary term itself, not of ``lambda * aux``: the features are
pulled with strength lambda while the centres move at their own learning rate, which then plays the
role of the papers' centre update rate alpha whatever lambda is.

Targets are integer labels (B,) or probabilities (B, C); the cross-entropy uses them as given and the
centre terms use each sample's most likely class.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ferkit.errors import ConfigError
from ferkit.losses.classification import class_weights_from_counts, soft_cross_entropy
from ferkit.losses.registry import register_loss


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; multiplies the incoming gradient by ``scale``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.scale, None


def hard_labels(targets: torch.Tensor) -> torch.Tensor:
    """Integer labels from (B,) labels or (B, C) probability targets (argmax)."""
    return targets if targets.ndim == 1 else targets.argmax(1)


def pairwise_cosine(centres: torch.Tensor) -> torch.Tensor:
    """(C, C) cosine similarity between the rows of ``centres``."""
    unit = F.normalize(centres, dim=1, eps=1e-12)
    return unit @ unit.t()


class _CentreLossBase(nn.Module):
    """Holds the centres and the softmax part; subclasses define ``aux(features, labels, centres)``."""

    needs_features = True

    def __init__(
        self, num_classes: int, num_features: int, weight: float, label_smoothing: float = 0.0, init_std: float = 1.0
    ):
        super().__init__()
        if weight < 0:
            raise ConfigError(f"{type(self).__name__}: the weight of the centre term must be >= 0, got {weight}")
        self.num_classes, self.num_features = num_classes, num_features
        self.label_smoothing = label_smoothing
        self.aux_weight = weight
        # unit-variance start (not zeros): cosine similarity, and so the island term's gradient, is
        # undefined at zero and explodes for tiny centres
        self.centres = nn.Parameter(torch.randn(num_classes, num_features) * init_std)

    def aux(self, features: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def cross_entropy(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return soft_cross_entropy(logits, targets, label_smoothing=self.label_smoothing)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor, features: torch.Tensor | None = None):
        if features is None:
            raise ValueError(f"{type(self).__name__} needs the model's features (call with features=...)")
        if features.shape[1:] != self.centres.shape[1:]:
            raise ValueError(
                f"{type(self).__name__}: features have {features.shape[1]} dimensions, "
                f"centres {self.centres.shape[1]} (num_features)"
            )
        ce = self.cross_entropy(logits, targets)
        if self.aux_weight == 0:
            return ce + 0.0 * self.centres.sum()  # keep the centres in the graph
        centres = _ScaleGrad.apply(self.centres, 1.0 / self.aux_weight)
        return ce + self.aux_weight * self.aux(features, hard_labels(targets), centres)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, num_features={self.num_features}"


def centre_distance(features: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Per-sample half squared Euclidean distance to the sample's class centre, shape (B,)."""
    return 0.5 * (features - centres[labels]).pow(2).sum(1)


@register_loss("center")
class CenterLoss(_CentreLossBase):
    """Centre loss (Wen et al., ECCV 2016): CE + lambda_center * mean_i 1/2 ||x_i - c_{y_i}||^2."""

    def __init__(self, num_classes: int, num_features: int, lambda_center: float = 0.01, label_smoothing: float = 0.0):
        super().__init__(num_classes, num_features, lambda_center, label_smoothing)

    def aux(self, features, labels, centres):
        return centre_distance(features, labels, centres).mean()


@register_loss("island")
class IslandLoss(_CentreLossBase):
    """Island loss (Cai et al., FG 2018): the centre term plus
    lambda_island * sum over ordered pairs of distinct centres of (cos(c_j, c_k) + 1),
    which pushes the centres apart in angle; the whole auxiliary term is weighted by lambda_center."""

    def __init__(
        self,
        num_classes: int,
        num_features: int,
        lambda_center: float = 0.01,
        lambda_island: float = 10.0,
        label_smoothing: float = 0.0,
    ):
        super().__init__(num_classes, num_features, lambda_center, label_smoothing)
        self.lambda_island = lambda_island

    def island_term(self, centres: torch.Tensor) -> torch.Tensor:
        cos = pairwise_cosine(centres)
        off_diagonal = ~torch.eye(len(centres), dtype=torch.bool, device=centres.device)
        return (cos[off_diagonal] + 1).sum()

    def aux(self, features, labels, centres):
        return centre_distance(features, labels, centres).mean() + self.lambda_island * self.island_term(centres)


@register_loss("weighted_cluster")
class WeightedClusterLoss(_CentreLossBase):
    """Weighted-cluster loss (Ngo & Yoon, Sensors 2020; seed 003).

    Each sample's distance to its class centre (intra-class compactness) is divided by the mean squared
    distance from that centre to the other centres (inter-class separation; ``delta`` keeps it finite)
    and weighted by its class weight, inversely proportional to the class's share of the training data
    (mean weight 1; ``power`` < 1 softens it). The seed describes the loss in words only; this ratio is
    our reading of it. ``weighted_ce`` also applies the class weights to the cross-entropy.
    """

    def __init__(
        self,
        num_classes: int,
        num_features: int,
        class_counts=None,
        lambda_cluster: float = 0.01,
        delta: float = 1.0,
        power: float = 1.0,
        weighted_ce: bool = False,
        label_smoothing: float = 0.0,
    ):
        super().__init__(num_classes, num_features, lambda_cluster, label_smoothing)
        counts = np.ones(num_classes) if class_counts is None else np.asarray(class_counts, dtype=np.float64)
        if counts.shape != (num_classes,):
            raise ConfigError(f"weighted_cluster: class_counts has {counts.size} entries, expected {num_classes}")
        if delta <= 0:
            raise ConfigError(f"weighted_cluster: delta must be > 0, got {delta}")
        self.register_buffer("class_weight", class_weights_from_counts(counts, power))
        self.delta, self.weighted_ce = delta, weighted_ce

    def cross_entropy(self, logits, targets):
        weight = self.class_weight if self.weighted_ce else None
        return soft_cross_entropy(logits, targets, weight=weight, label_smoothing=self.label_smoothing)

    def separation(self, centres: torch.Tensor) -> torch.Tensor:
        """(C,) mean half squared distance from each centre to the other centres."""
        d = 0.5 * (centres[:, None] - centres[None]).pow(2).sum(-1)  # cdist's gradient is NaN at 0
        return d.sum(1) / max(len(centres) - 1, 1)

    def aux(self, features, labels, centres):
        intra = centre_distance(features, labels, centres)
        inter = self.separation(centres)[labels]
        return (self.class_weight[labels] * intra / (inter + self.delta)).mean()
