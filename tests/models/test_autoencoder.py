"""Denoising autoencoder: reconstruction shape, corruption, and that its encoder loads into the backbone."""

from __future__ import annotations

import pytest
import torch

from ferkit.models import create_model
from ferkit.models.autoencoder import DenoisingAutoencoder, corrupt
from ferkit.models.weights import load_pretrained


@pytest.mark.parametrize("size", [40, 48])
def test_reconstruction_has_the_input_shape(size):
    torch.manual_seed(0)
    ae = DenoisingAutoencoder("ferresnet_s")
    x = torch.randn(2, 1, size, size)
    out = ae(x)
    assert out.shape == x.shape
    torch.nn.functional.mse_loss(out, x).backward()
    assert next(ae.encoder.parameters()).grad.abs().sum() > 0


def test_corruption_masks_and_adds_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.ones(1, 1, 40, 40)
    y = corrupt(x, noise_std=0.0, mask_prob=0.5, generator=g)
    share = float((y == 0).float().mean())
    assert 0.4 < share < 0.6 and set(y.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(corrupt(x, 0.1, 0.0, g), x)


def test_encoder_state_loads_into_the_backbone(tmp_path):
    torch.manual_seed(0)
    ae = DenoisingAutoencoder("ferresnet_s")
    path = tmp_path / "enc.pt"
    torch.save({"model": ae.encoder_state(), "arch": "ferresnet_s"}, path)
    model = create_model("ferresnet_s", num_classes=7)
    report = load_pretrained(model, path)
    assert set(report["missing"]) == {"head.weight", "head.bias"}
    for k, v in ae.encoder.state_dict().items():
        torch.testing.assert_close(model.state_dict()[k], v)
