"""Diverse input (survey, seed 000): a CNN on the face crop plus a handcrafted-descriptor branch, fused before
the head. The descriptor (uniform-LBP cell histograms, ferkit.models.descriptors) is computed inside the
network from the same input tensor, so the model needs no extra input and exports like any other.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.models.base import Classifier
from ferkit.models.descriptors import LBPHistogram
from ferkit.models.registry import create_model, register_model

DESCRIPTORS = {"lbp": LBPHistogram}


class TwoBranchNet(Classifier):
    """features = [CNN features : MLP(BN(descriptor))]; head = dropout + linear."""

    def __init__(
        self,
        backbone: str = "ferresnet_s",
        num_classes: int = 7,
        in_chans: int = 1,
        descriptor: str = "lbp",
        grid: int = 4,
        descriptor_dim: int = 128,
        drop_rate: float = 0.2,
        backbone_kwargs: dict | None = None,
    ):
        super().__init__()
        if descriptor not in DESCRIPTORS:
            raise ModelError(f"two_branch: unknown descriptor {descriptor!r}; choose from {', '.join(DESCRIPTORS)}")
        self.cnn = create_model(backbone, num_classes=1, in_chans=in_chans, **(backbone_kwargs or {}))
        self.cnn.reset_classifier(0)
        self.descriptor = DESCRIPTORS[descriptor](grid)
        # histogram entries are tiny fractions: batch norm puts them on the CNN features' scale
        self.descriptor_branch = nn.Sequential(
            nn.BatchNorm1d(self.descriptor.dim), nn.Linear(self.descriptor.dim, descriptor_dim), nn.ReLU(inplace=True)
        )
        self.add_head(self.cnn.num_features + descriptor_dim, num_classes, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.cnn.forward_features(x), self.descriptor_branch(self.descriptor(x))], 1)


@register_model
def two_branch(
    num_classes: int = 7,
    in_chans: int = 1,
    backbone: str = "ferresnet_s",
    descriptor: str = "lbp",
    grid: int = 4,
    descriptor_dim: int = 128,
    drop_rate: float = 0.2,
    backbone_kwargs: dict | None = None,
) -> TwoBranchNet:
    """Face-crop CNN (any registered ``backbone``) + LBP-histogram branch, fused before the head."""
    return TwoBranchNet(backbone, num_classes, in_chans, descriptor, grid, descriptor_dim, drop_rate, backbone_kwargs)
