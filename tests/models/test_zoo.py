"""Every registered architecture honours the Classifier contract at 40x40 and 48x48, grey and RGB."""

from __future__ import annotations

import copy
import functools

import pytest
import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.models import create_model, list_models, register_model
from ferkit.models.weights import freeze, load_pretrained

MODELS = list_models()
# resnet34 is resnet18's blocks at other depths (the same code): in the quick lane it is built and run (output
# shapes); its costlier checks (gradients, weight loading, head swaps) run in the slow lane.
DEEP = {"resnet34"}
QUICK_MODELS = [pytest.param(n, marks=pytest.mark.slow) if n in DEEP else n for n in MODELS]


@functools.cache
def _built(name: str, in_chans: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, num_classes=7, in_chans=in_chans)


def fresh(name: str, in_chans: int = 1) -> nn.Module:
    """A private copy of a 7-class model (building the large ResNets is slower than copying them)."""
    return copy.deepcopy(_built(name, in_chans))


def _input(size: int = 32, chans: int = 1, batch: int = 1) -> torch.Tensor:
    """Eval-mode checks use one small image: the property does not depend on size, and CPU is shared."""
    return torch.randn(batch, chans, size, size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("name", MODELS)
def test_output_shape_any_size_and_channels(name):
    for chans in (1, 3):
        model = _built(name, chans).eval()  # read-only use: no copy needed
        for size in (40, 48):
            with torch.no_grad():
                out = model(_input(size, chans))
            assert out.shape == (1, 7), (size, chans)
            assert torch.isfinite(out).all(), (size, chans)


@pytest.mark.parametrize("name", QUICK_MODELS)
def test_features_then_head_equals_forward(name):
    model = fresh(name).eval()
    x = _input()
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (1, model.num_features)
        torch.testing.assert_close(model.forward_head(feats), model(x))
    assert model.arch_name == name


@pytest.mark.parametrize("name", QUICK_MODELS)
def test_reset_classifier(name):
    model = fresh(name).eval()
    x = _input()
    model.reset_classifier(3)
    assert model.num_classes == 3
    with torch.no_grad():
        assert model(x).shape == (1, 3)
        model.reset_classifier(0)  # no head: the model returns its features
        torch.testing.assert_close(model(x), model.forward_features(x))


@pytest.mark.parametrize("name", QUICK_MODELS)
def test_gradients_reach_every_parameter(name):
    model = fresh(name).train()
    loss = nn.functional.cross_entropy(model(_input(batch=2)), torch.tensor([0, 3]))  # batch 2: BN in train mode
    loss.backward()
    params = list(model.named_parameters())
    for pname, p in params:
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
    first_name, first = params[0]  # the input layer: gradient crossed the whole network
    assert first.grad.abs().sum() > 0, first_name


@pytest.mark.parametrize("name", QUICK_MODELS)
def test_load_pretrained_skips_head_and_freeze(name, tmp_path):
    source = _built(name)
    path = tmp_path / "weights.pt"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)

    target = fresh(name)
    for p in target.parameters():  # make every loaded tensor distinguishable from the source
        p.data.add_(1.0)
    target.reset_classifier(3)
    report = load_pretrained(target, path)
    head = {k for k in target.state_dict() if k.startswith("head.")}
    assert head and set(report["missing"]) == head
    assert set(report["skipped"]) == head  # the source's 7-class head does not fit 3 classes anyway
    src = source.state_dict()
    for k, v in target.state_dict().items():
        if k not in head:
            torch.testing.assert_close(v, src[k], msg=k)

    prefix = next(iter(target.state_dict())).split(".")[0] + "."
    frozen = freeze(target, [prefix])
    assert frozen and all(n.startswith(prefix) for n in frozen)
    trainable = {n for n, p in target.named_parameters() if p.requires_grad}
    assert not trainable & set(frozen)
    assert {n for n in trainable if n.startswith("head.")}


def test_mobilenet_v1_matches_the_seed_keras_model():
    # seed 000: Keras MobileNet(alpha=1.0, include_top=False) + Dense(7) on 48x48x1: 3,213,575 trainable
    model = fresh("mobilenet_v1")
    assert sum(p.numel() for p in model.parameters()) == 3_213_575
    assert model.num_features == 1024
    with torch.no_grad():
        assert model.features(_input(48)).shape[-2:] == (1, 1)  # 48 -> 24 -> 12 -> 6 -> 3 -> 1 as in Keras


def test_mobilenet_width_multiplier():
    half = create_model("mobilenet_v1", alpha=0.5)
    assert half.num_features == 512
    assert sum(p.numel() for p in half.parameters()) == sum(p.numel() for p in _built("mobilenet_v1_050").parameters())


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="registered twice"):

        @register_model
        def resnet18(num_classes: int = 7, in_chans: int = 1, **kw):  # noqa: F811
            raise AssertionError("never built")


def test_unknown_model_lists_choices():
    with pytest.raises(ModelError) as err:
        create_model("resnet19")
    message = str(err.value)
    assert "resnet19" in message
    for name in ("mini_xception", "mobilenet_v1", "vgg_fer", "fernet", "resnet18"):
        assert name in message


def test_bad_argument_is_a_model_error():
    with pytest.raises(ModelError, match="vgg_fer"):
        create_model("vgg_fer", no_such_option=1)
