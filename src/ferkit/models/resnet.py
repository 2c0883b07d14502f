"""ResNet family adapted to small grey faces: ResNet-18/34, SE-ResNet, and compact CPU-efficient variants.

The compact variants ("ferresnet_*") spend their compute where a 40x40 face has information: a 3x3 stem
at full resolution, then one residual stage per resolution that halves the map every stage. Dense 3x3
convolutions run several times more efficiently per MAC than depthwise ones on a CPU, so they are used
throughout.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ferkit.models.base import Classifier, conv_bn_relu, init_conv_weights
from ferkit.models.registry import register_model


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1, se: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout) if se else nn.Identity()
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        nn.init.zeros_(self.bn2.weight)  # each block starts as identity: stabler early training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return self.relu(out + self.shortcut(x))


class ResNet(Classifier):
    """stem -> stages of BasicBlocks -> global average pool -> dropout -> linear."""

    def __init__(
        self,
        widths: Sequence[int],
        depths: Sequence[int],
        strides: Sequence[int],
        num_classes: int = 7,
        in_chans: int = 1,
        stem_width: int = 32,
        se: bool = False,
        drop_rate: float = 0.2,
    ):
        super().__init__()
        self.stem = conv_bn_relu(in_chans, stem_width)
        blocks, cin = [], stem_width
        for width, depth, stride in zip(widths, depths, strides):
            for i in range(depth):
                blocks.append(BasicBlock(cin, width, stride if i == 0 else 1, se=se))
                cin = width
        self.stages = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.add_head(cin, num_classes, drop_rate)
        init_conv_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.stages(self.stem(x))).flatten(1)


@register_model
def ferresnet_s(num_classes: int = 7, in_chans: int = 1, **kw) -> ResNet:
    """Compact: one block per stage, downsampling every stage (~1.2M params, ~28M MACs at 40x40)."""
    return ResNet([32, 64, 128, 256], [1, 1, 1, 1], [2, 2, 2, 2], num_classes, in_chans, stem_width=32, **kw)


@register_model
def ferresnet_m(num_classes: int = 7, in_chans: int = 1, **kw) -> ResNet:
    """Compact, deeper: two blocks in the middle stages (~1.6M params, ~40M MACs at 40x40)."""
    return ResNet([32, 64, 128, 256], [1, 2, 2, 1], [2, 2, 2, 2], num_classes, in_chans, stem_width=32, **kw)


@register_model
def ferresnet_l(num_classes: int = 7, in_chans: int = 1, **kw) -> ResNet:
    """Compact, wider: 1.5x the channels of ferresnet_m."""
    return ResNet([48, 96, 192, 384], [1, 2, 2, 1], [2, 2, 2, 2], num_classes, in_chans, stem_width=32, **kw)


@register_model
def resnet18(num_classes: int = 7, in_chans: int = 1, **kw) -> ResNet:
    """ResNet-18 for small inputs: 3x3 stem, no max-pool, first stage at full resolution."""
    return ResNet([64, 128, 256, 512], [2, 2, 2, 2], [1, 2, 2, 2], num_classes, in_chans, stem_width=64, **kw)


@register_model
def resnet34(num_classes: int = 7, in_chans: int = 1, **kw) -> ResNet:
    return ResNet([64, 128, 256, 512], [3, 4, 6, 3], [1, 2, 2, 2], num_classes, in_chans, stem_width=64, **kw)


@register_model
def se_resnet18(num_classes: int = 7, in_chans: int = 1, **kw) -> ResNet:
    return ResNet([64, 128, 256, 512], [2, 2, 2, 2], [1, 2, 2, 2], num_classes, in_chans, stem_width=64, se=True, **kw)
