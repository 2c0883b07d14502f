"""The VGG variant of the "Real Time Facial Expression Recognition" report (seed 002).

VGG-B with one conv-conv-pool block less: four stages of two (3x3 conv -> BN -> ReLU) followed by a 2x2
max-pool and dropout, widths 64-128-256-512, then a single hidden fully-connected layer of 1024 units
and the classifier. The report's conv block order is conv -> ReLU -> BN; we use conv -> BN -> ReLU like
every other model here. The seed gives neither dropout rates nor how the last map is flattened; we use
0.25 after each stage, 0.5 before the classifier, and pool the last map to 2x2 (exactly a flatten at
40x40 input, where it already is 2x2) so any input size works.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from ferkit.models.base import Classifier, conv_bn_relu
from ferkit.models.registry import register_model


class VGGFer(Classifier):
    """[conv-bn-relu x2 -> max-pool -> dropout] x4 -> 2x2 pool -> FC-1024 -> dropout -> linear."""

    def __init__(self, widths: Sequence[int] = (64, 128, 256, 512), hidden: int = 1024, num_classes: int = 7,
                 in_chans: int = 1, drop_rate: float = 0.5, block_drop_rate: float = 0.25, pool_size: int = 2):
        super().__init__()
        stages, cin = [], in_chans
        for width in widths:
            stages += [conv_bn_relu(cin, width), conv_bn_relu(width, width), nn.MaxPool2d(2, 2),
                       nn.Dropout(block_drop_rate)]
            cin = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        # the hidden FC belongs to the features: centre-type losses then act on the 1024-d embedding
        self.fc = nn.Sequential(nn.Linear(cin * pool_size * pool_size, hidden), nn.ReLU(inplace=True))
        self.drop = nn.Dropout(drop_rate)
        self.num_features = hidden
        self.num_classes = num_classes
        self.head = nn.Linear(hidden, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(x)).flatten(1))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(features))


@register_model
def vgg_fer(num_classes: int = 7, in_chans: int = 1, **kw) -> VGGFer:
    """VGG-B minus one block, 1024-unit hidden layer (~6.8M params)."""
    return VGGFer(num_classes=num_classes, in_chans=in_chans, **kw)
