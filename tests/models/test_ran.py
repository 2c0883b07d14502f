"""Region Attention Network: region crops, attention shapes and ranges, the P_RAN formula, any backbone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ferkit.errors import ModelError
from ferkit.losses import build_loss
from ferkit.models import create_model
from ferkit.models.ran import FACE_TEMPLATE, FIXED5, RegionCrops


def _x(batch: int = 2, size: int = 40) -> torch.Tensor:
    return torch.randn(batch, 1, size, size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("backbone", ["ferresnet_s", "mobilenet_v1_025"])
def test_shapes_and_attention_ranges(backbone):
    torch.manual_seed(0)
    model = create_model("ran", num_classes=8, backbone=backbone).eval()
    with torch.no_grad():
        logits, feats, att = model.forward_with_attention(_x())
        assert logits.shape == (2, 8)
        assert feats.shape == (2, model.num_features) == (2, 2 * model.encoder.num_features)
        assert att["mu"].shape == att["nu"].shape == (2, 1 + len(FIXED5))
        assert ((att["mu"] > 0) & (att["mu"] < 1)).all() and ((att["nu"] > 0) & (att["nu"] < 1)).all()
        torch.testing.assert_close(model(_x()), logits)


def test_region_crops_cut_the_intended_boxes():
    x = torch.arange(40.0).view(1, 1, 1, 40).expand(1, 1, 40, 40).contiguous()  # value = column index
    crops = RegionCrops(FIXED5)(x)
    assert crops.shape == (1, 6, 1, 40, 40)
    torch.testing.assert_close(crops[:, 0], x)  # region 0: the whole face
    expected = F.interpolate(x[..., 0:30, 0:30], size=(40, 40), mode="bilinear", align_corners=False)
    torch.testing.assert_close(crops[:, 1], expected)  # top-left 0.75
    assert crops[:, 2].min() >= 10 - 1e-4  # top-right starts at column 10
    small = RegionCrops(FIXED5, crop_size=24)(x)
    assert small.shape == (1, 6, 1, 24, 24)


def test_representation_is_the_attention_weighted_mean():
    torch.manual_seed(0)
    model = create_model("ran", num_classes=3).eval()
    x = _x(1)
    with torch.no_grad():
        f = model.region_features(x)[0]  # (K, D)
        mu = torch.sigmoid(model.self_attention(f)).squeeze(-1)
        f_m = (mu[:, None] * f).sum(0) / mu.sum()
        joint = torch.cat([f, f_m.expand_as(f)], 1)
        nu = torch.sigmoid(model.relation_attention(joint)).squeeze(-1)
        p = ((mu * nu)[:, None] * joint).sum(0) / (mu * nu).sum()
        torch.testing.assert_close(model.forward_features(x)[0], p)


def test_region_biased_loss_trains_the_attention():
    torch.manual_seed(0)
    model = create_model("ran", num_classes=4).train()
    loss_fn = build_loss("region_biased", num_classes=4, num_features=model.num_features, margin=0.5)
    logits, feats, att = model.forward_with_attention(_x())
    loss = loss_fn(logits, torch.tensor([0, 3]), features=feats, attention=att)
    loss.backward()
    assert model.self_attention.weight.grad.abs().sum() > 0
    assert model.relation_attention.weight.grad.abs().sum() > 0
    assert next(model.encoder.parameters()).grad.abs().sum() > 0


def test_landmark_regions_follow_the_face_template_and_bad_regions_raise():
    from ferkit.faces.alignment import FER_TEMPLATE

    np.testing.assert_allclose(np.array(FACE_TEMPLATE), FER_TEMPLATE)
    model = create_model("ran", regions="landmarks4")
    assert model.num_regions == 5
    custom = create_model("ran", regions=[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]])
    assert custom.num_regions == 3
    with pytest.raises(ModelError, match="region"):
        create_model("ran", regions=[[0.5, 0, 0.4, 1]])
    with pytest.raises(ModelError, match="preset"):
        create_model("ran", regions="nope")
