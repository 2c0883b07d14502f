"""MobileNet v1 (Howard et al., 2017) with a width multiplier, as used on 48x48x1 FER-2013 faces.

Mirrors ``tf.keras.applications.MobileNet(alpha=..., include_top=False)`` followed by a dense layer
(seed 000): ReLU6 activations, bias-free convolutions with batch norm, and Keras' asymmetric
"pad right/bottom by one, then valid" for stride-2 convolutions, so feature-map sizes match Keras
(48 -> 24 -> 12 -> 6 -> 3 -> 1). At alpha=1 with 7 classes and one channel the model has the seed's
3,213,575 trainable parameters. Global average pooling makes the input size free.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.models.base import Classifier, init_conv_weights
from ferkit.models.registry import register_model

# (pointwise width, depthwise stride) of the 13 depthwise-separable blocks
_BLOCKS = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
]


def _conv_bn(cin: int, cout: int, k: int, stride: int, groups: int = 1) -> nn.Sequential:
    # Keras pads stride-2 convolutions on the right/bottom only; a symmetric pad would shift the grid
    pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.ZeroPad2d(k // 2)
    return nn.Sequential(
        pad, nn.Conv2d(cin, cout, k, stride, 0, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True)
    )


class MobileNetV1(Classifier):
    """stem -> 13 depthwise-separable blocks -> global average pool -> dropout -> linear."""

    def __init__(self, alpha: float = 1.0, num_classes: int = 7, in_chans: int = 1, drop_rate: float = 0.0):
        super().__init__()
        if alpha <= 0:
            raise ModelError(f"mobilenet_v1: alpha must be positive, got {alpha}")
        cin = int(32 * alpha)  # Keras truncates (int), it does not round to a multiple of 8
        layers = [_conv_bn(in_chans, cin, 3, 2)]
        for width, stride in _BLOCKS:
            cout = int(width * alpha)
            layers += [_conv_bn(cin, cin, 3, stride, groups=cin), _conv_bn(cin, cout, 1, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.alpha = alpha
        self.add_head(cin, num_classes, drop_rate)
        init_conv_weights(self)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.features(x)).flatten(1)


@register_model
def mobilenet_v1(num_classes: int = 7, in_chans: int = 1, alpha: float = 1.0, **kw) -> MobileNetV1:
    """MobileNet v1; ``alpha`` scales every layer's width (1.0: ~3.2M params, 1024 features)."""
    return MobileNetV1(alpha, num_classes, in_chans, **kw)


@register_model
def mobilenet_v1_050(num_classes: int = 7, in_chans: int = 1, **kw) -> MobileNetV1:
    """MobileNet v1 at half width (~0.8M params, 512 features)."""
    return MobileNetV1(0.5, num_classes, in_chans, **kw)


@register_model
def mobilenet_v1_025(num_classes: int = 7, in_chans: int = 1, **kw) -> MobileNetV1:
    """MobileNet v1 at quarter width (~0.21M params, 256 features)."""
    return MobileNetV1(0.25, num_classes, in_chans, **kw)
