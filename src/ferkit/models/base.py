"""The contract every classifier follows (the timm shape)."""

from __future__ import annotations

import torch
import torch.nn as nn


class Classifier(nn.Module):
    """Subclasses implement ``forward_features`` (image -> pooled feature vector) and call ``add_head``."""

    num_features: int
    num_classes: int
    drop: nn.Module
    head: nn.Module

    def add_head(self, num_features: int, num_classes: int, drop_rate: float) -> None:
        """The classifier every architecture ends in: dropout, then one linear layer on the feature vector."""
        self.drop = nn.Dropout(drop_rate)
        self.num_features, self.num_classes = num_features, num_classes
        self.head = nn.Linear(num_features, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final layer (transfer learning)."""
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        self.num_classes = num_classes


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


def init_conv_weights(module: nn.Module) -> None:
    """He initialisation (fan-out, ReLU) of every convolution in ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
