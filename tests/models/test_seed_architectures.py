"""Seed architectures against their published parameter counts: seed 002's VGG variants and mini-Xception."""

from __future__ import annotations

import torch
import torch.nn as nn

from ferkit.models import create_model


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_vgg_fer_rt_has_the_reports_exact_parameter_count():
    assert _params(create_model("vgg_fer_rt", num_classes=7)) == 784_263  # report, Table 3
    assert _params(create_model("vgg_fer", num_classes=7)) == 6_791_495  # 8.7x: the VGG-width variant


def test_vgg_fer_rt_layout_is_conv_relu_bn_with_dropout_per_block_and_one_hidden_layer():
    model = create_model("vgg_fer_rt").eval()
    kinds = [type(m).__name__ for m in model.stages]
    assert kinds == ["Conv2d", "ReLU", "BatchNorm2d", "Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d", "Dropout"] * 4
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(144, 1024), (1024, 7)]
    for size in (40, 48):
        assert model(torch.zeros(2, 1, size, size)).shape == (2, 7)


def test_mini_xception_matches_the_original_up_to_its_classifier():
    model = create_model("mini_xception", num_classes=7)
    bn_channels = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    original_classifier = 3 * 3 * 128 * 7 + 7  # Keras: Conv2D(7, (3, 3)) on the 128-channel map
    ours_classifier = 128 * 7 + 7
    # the Keras summary's total counts BN moving mean/variance too
    assert _params(model) - ours_classifier + original_classifier + 2 * bn_channels == 58_423
