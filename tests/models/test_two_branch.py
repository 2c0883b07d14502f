"""Two-branch (CNN + LBP) model and the torch LBP descriptor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.models import create_model
from ferkit.models.descriptors import NEIGHBOURS, LBPHistogram, lbp_codes, uniform_lut


def _reference_codes(img: np.ndarray) -> np.ndarray:
    """Plain-loop LBP with replicated borders: bit k set when neighbour k (clockwise from top-left) >= centre."""
    h, w = img.shape
    p = np.pad(img, 1, mode="edge")
    out = np.zeros((h, w), np.int64)
    for y in range(h):
        for x in range(w):
            for bit, (dy, dx) in enumerate(NEIGHBOURS):
                if p[y + 1 + dy, x + 1 + dx] >= p[y + 1, x + 1]:
                    out[y, x] |= 1 << bit
    return out


def test_lbp_codes_match_a_loop_reference():
    img = np.random.default_rng(0).integers(0, 256, (9, 11)).astype(np.float32)
    codes = lbp_codes(torch.from_numpy(img)[None, None])[0, 0].numpy()
    np.testing.assert_array_equal(codes, _reference_codes(img))


def test_uniform_mapping_has_58_uniform_codes_and_flat_patches_are_uniform():
    lut = uniform_lut()
    assert int((lut < 58).sum()) == 58 and int((lut == 58).sum()) == 256 - 58
    flat = lbp_codes(torch.full((1, 1, 5, 5), 7.0))
    assert (flat == 255).all() and (lut[flat] < 58).all()


def test_histograms_sum_to_one_per_cell_and_ignore_monotone_grey_maps():
    x = torch.rand(2, 1, 40, 40, generator=torch.Generator().manual_seed(0))
    desc = LBPHistogram(grid=4)
    h = desc(x)
    assert h.shape == (2, 59 * 16)
    torch.testing.assert_close(h.view(2, 59, 16).sum(1), torch.ones(2, 16))
    torch.testing.assert_close(desc((x - 0.5) / 0.25), h)


def test_two_branch_forward_fuses_both_branches():
    torch.manual_seed(0)
    model = create_model("two_branch", num_classes=7, backbone="ferresnet_s").train()
    x = torch.randn(2, 1, 40, 40)
    feats = model.forward_features(x)
    assert feats.shape == (2, model.cnn.num_features + 128) == (2, model.num_features)
    model(x).sum().backward()
    assert model.descriptor_branch[1].weight.grad.abs().sum() > 0
    assert next(model.cnn.parameters()).grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["two_branch", "ran"])
def test_exports_to_onnx_and_matches_torch(name):
    import onnxruntime as ort

    from ferkit.export.onnx import onnx_bytes
    from ferkit.models.checkpoint import LoadedModel
    from ferkit.transforms.preprocess import Preprocess

    torch.manual_seed(0)
    model = create_model(name, num_classes=7).eval()
    data = onnx_bytes(LoadedModel(model, tuple("abcdefg"), Preprocess(), name))
    x = torch.randn(2, 1, 40, 40)
    logits, _ = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(logits, model(x).numpy(), atol=1e-4, rtol=1e-4)
