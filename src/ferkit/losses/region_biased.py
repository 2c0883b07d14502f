"""Region-biased loss of the Region Attention Network (seed 004): cross-entropy plus a hinge that makes the
largest self-attention weight of the face regions exceed the whole face's weight by a margin,

    L_RB = mean_b max(0, margin - (max_{i>=1} mu_i - mu_0)),    L = CE + weight * L_RB.

The weights come from ``model.forward_with_attention`` (ferkit.models.ran); the trainer passes them as
``attention={"mu": (B, K), ...}`` because the loss declares ``needs_attention``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ferkit.errors import ConfigError
from ferkit.losses.classification import soft_cross_entropy
from ferkit.losses.registry import register_loss


def region_bias_hinge(mu: torch.Tensor, margin: float = 0.1) -> torch.Tensor:
    """Per-sample hinge (B,) on self-attention weights mu (B, K) whose column 0 is the whole face."""
    if mu.ndim != 2 or mu.shape[1] < 2:
        raise ValueError(f"attention weights must be (B, K>=2) with the whole face first, got {tuple(mu.shape)}")
    return torch.relu(margin - (mu[:, 1:].max(1).values - mu[:, 0]))


@register_loss("region_biased")
class RegionBiasedLoss(nn.Module):
    """CE (hard or soft targets) + weight * region-biased hinge (margin 0.1 as in the seed)."""

    needs_features = False
    needs_attention = True

    def __init__(self, margin: float = 0.1, weight: float = 1.0, label_smoothing: float = 0.0):
        super().__init__()
        if weight < 0:
            raise ConfigError(f"region_biased: weight must be >= 0, got {weight}")
        self.margin, self.weight, self.label_smoothing = margin, weight, label_smoothing

    def forward(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        features: torch.Tensor | None = None,
        attention: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        if attention is None or "mu" not in attention:
            raise ValueError(
                "region_biased needs the model's attention weights (attention={'mu': ...}); "
                "use a model with forward_with_attention, e.g. 'ran'"
            )
        ce = soft_cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
        return ce + self.weight * region_bias_hinge(attention["mu"].float(), self.margin).mean()

    def extra_repr(self) -> str:
        return f"margin={self.margin}, weight={self.weight}"
