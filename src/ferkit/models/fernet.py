"""FER-net (Mohan et al., Neural Computing and Applications 2021), as summarised in seed 002.

Four convolution layers, each followed by batch norm, ReLU, 2x2 max-pool and dropout 0.25, then two
fully connected layers: a hidden one with batch norm, ReLU and dropout 0.5, and the classifier. The seed
gives neither widths nor kernel sizes; we use 3x3 kernels with widths 64-128-256-512 and a 256-unit
hidden layer. The paper also batch-normalises the classifier output; we leave the logits plain so the
head stays one Linear layer (``reset_classifier``). The last map is pooled to 2x2, so any input works.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ferkit.models.base import Classifier, conv_bn_relu, init_conv_weights
from ferkit.models.registry import register_model


class FERNet(Classifier):
    """[conv-bn-relu -> max-pool -> dropout] x4 -> 2x2 pool -> FC-bn-relu -> dropout -> linear."""

    def __init__(
        self,
        widths: Sequence[int] = (64, 128, 256, 512),
        hidden: int = 256,
        num_classes: int = 7,
        in_chans: int = 1,
        drop_rate: float = 0.5,
        block_drop_rate: float = 0.25,
        pool_size: int = 2,
    ):
        super().__init__()
        stages, cin = [], in_chans
        for width in widths:
            stages += [conv_bn_relu(cin, width), nn.MaxPool2d(2, 2), nn.Dropout(block_drop_rate)]
            cin = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        self.fc = nn.Sequential(
            nn.Linear(cin * pool_size * pool_size, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True)
        )
        self.add_head(hidden, num_classes, drop_rate)
        init_conv_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(x)).flatten(1))


@register_model
def fernet(num_classes: int = 7, in_chans: int = 1, **kw) -> FERNet:
    """FER-net: 4 conv + 2 FC with batch norm, dropout 0.25 (conv) / 0.5 (FC) (~2.1M params)."""
    return FERNet(num_classes=num_classes, in_chans=in_chans, **kw)
