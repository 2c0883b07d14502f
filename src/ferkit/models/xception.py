"""mini-Xception (Arriaga et al., 2017), the model behind the ``fer`` package's emotion classifier.

Two plain 3x3 convolutions (8 channels, no padding), then four residual modules of width 16-32-64-128,
each: two depthwise-separable 3x3 convolutions with batch norm and a 3x3/2 max-pool, added to a strided
1x1 convolution of the module input. The original classifies with a 3x3 convolution to ``num_classes``
channels followed by global average pooling; to expose a pooled feature vector (the Classifier contract)
we pool the 128-channel map first and classify with a linear layer (a 1x1 instead of a 3x3 classifier).
Keras' L2 kernel regulariser (0.01) is training-time weight decay, not part of the model.
Parameter check against the original: 49,783 here at 7 classes; the original's 3x3 classifier has 7,168 more
(8,071 vs 903), i.e. 56,951 trainable, plus 1,472 batch-norm moving statistics (2 x 736 channels) that Keras
counts = the 58,423 "Total params" of the published Keras summary. Everything but the classifier matches.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ferkit.models.base import Classifier, init_conv_weights
from ferkit.models.registry import register_model


class SeparableConv(nn.Sequential):
    """Keras SeparableConv2D: depthwise 3x3 then pointwise 1x1, no norm or activation between."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


class XceptionModule(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.residual = nn.Sequential(nn.Conv2d(cin, cout, 1, 2, bias=False), nn.BatchNorm2d(cout))
        self.body = nn.Sequential(
            SeparableConv(cin, cout),
            nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            SeparableConv(cout, cout),
            nn.BatchNorm2d(cout),
            nn.MaxPool2d(3, 2, padding=1),
        )  # = Keras "same" pooling for these sizes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.residual(x)


class MiniXception(Classifier):
    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64, 128),
        stem_width: int = 8,
        num_classes: int = 7,
        in_chans: int = 1,
        drop_rate: float = 0.0,
    ):
        super().__init__()
        # the original stem is unpadded ("valid"): 48 -> 44 before the first module
        self.stem = nn.Sequential(
            nn.Conv2d(in_chans, stem_width, 3, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.ReLU(inplace=True),
            nn.Conv2d(stem_width, stem_width, 3, bias=False),
            nn.BatchNorm2d(stem_width),
            nn.ReLU(inplace=True),
        )
        blocks, cin = [], stem_width
        for width in widths:
            blocks.append(XceptionModule(cin, width))
            cin = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.add_head(cin, num_classes, drop_rate)
        init_conv_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.blocks(self.stem(x))).flatten(1)


@register_model
def mini_xception(num_classes: int = 7, in_chans: int = 1, **kw) -> MiniXception:
    """mini-Xception: depthwise-separable residual modules (~50k params)."""
    return MiniXception(num_classes=num_classes, in_chans=in_chans, **kw)
