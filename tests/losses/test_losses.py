"""Losses: call signature, gradients, and the property that defines each one."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ferkit.errors import ConfigError
from ferkit.losses import build_loss, list_losses
from ferkit.losses.classification import soft_cross_entropy

C, D, B = 4, 6, 8
COUNTS = [400, 40, 200, 100]
CENTRE_LOSSES = ["center", "island", "weighted_cluster"]


def _batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, C, generator=g, requires_grad=True)
    features = torch.randn(B, D, generator=g, requires_grad=True)
    labels = torch.arange(B) % C
    return logits, features, labels


def _build(name: str, **params):
    return build_loss(name, num_classes=C, num_features=D, class_counts=COUNTS, **params)


@pytest.mark.parametrize("name", list_losses())
@pytest.mark.parametrize("soft", [False, True])
def test_every_loss_is_a_finite_scalar_with_gradients(name, soft):
    loss_fn = _build(name)
    logits, features, labels = _batch()
    targets = F.one_hot(labels, C).float() * 0.7 + 0.3 / C if soft else labels
    # losses that declare needs_attention (region_biased) also get the model's attention weights
    extra = {"attention": {"mu": torch.rand(B, 3)}} if getattr(loss_fn, "needs_attention", False) else {}
    value = loss_fn(logits, targets, features=features, **extra)
    assert value.ndim == 0 and torch.isfinite(value)
    value.backward()
    assert logits.grad.abs().sum() > 0
    if getattr(loss_fn, "needs_features", False):
        assert features.grad.abs().sum() > 0
        assert loss_fn.centres.grad is not None and loss_fn.centres.grad.abs().sum() > 0


@pytest.mark.parametrize("name", CENTRE_LOSSES)
def test_centre_losses_have_learnable_centres_in_their_state(name):
    loss_fn = _build(name)
    params = dict(loss_fn.named_parameters())
    assert list(params) == ["centres"] and params["centres"].shape == (C, D)
    assert "centres" in loss_fn.state_dict()
    assert loss_fn.needs_features


@pytest.mark.parametrize("name", CENTRE_LOSSES)
def test_centre_losses_follow_dtype_and_need_features(name):
    loss_fn = _build(name).to(torch.float64)  # no hard-coded device or dtype inside
    logits, features, labels = _batch()
    value = loss_fn(logits.double(), labels, features=features.double())
    assert value.dtype == torch.float64
    with pytest.raises(ValueError, match="features"):
        loss_fn(logits, labels)


@pytest.mark.parametrize("name", CENTRE_LOSSES)
def test_soft_targets_use_the_most_likely_class_for_centres(name):
    loss_fn = _build(name)
    logits, features, labels = _batch()
    soft = F.one_hot(labels, C).float()  # one-hot probabilities: CE and centre term both match hard labels
    torch.testing.assert_close(loss_fn(logits, soft, features=features), loss_fn(logits, labels, features=features))


def test_center_loss_is_cross_entropy_when_features_sit_on_their_centres():
    loss_fn = _build("center", lambda_center=0.5)
    logits, _, labels = _batch()
    on_centres = loss_fn.centres.detach()[labels]
    ce = F.cross_entropy(logits, labels)
    torch.testing.assert_close(loss_fn(logits, labels, features=on_centres), ce)
    shifted = on_centres + 1.0  # every feature one unit away in each of D dimensions
    torch.testing.assert_close(loss_fn(logits, labels, features=shifted), ce + 0.5 * 0.5 * D)


def test_centres_follow_the_unscaled_centre_gradient():
    # features are pulled with strength lambda; centres get d(aux)/dc so optim.loss_lr acts like Wen's alpha
    loss_fn = _build("center", lambda_center=0.01)
    logits, features, labels = _batch()
    loss_fn(logits, labels, features=features).backward()
    c = loss_fn.centres.detach()
    expected = torch.zeros_like(c).index_add_(0, labels, c[labels] - features.detach()) / B
    torch.testing.assert_close(loss_fn.centres.grad, expected)
    torch.testing.assert_close(features.grad, 0.01 * (features.detach() - c[labels]) / B)


def test_zero_weight_leaves_plain_cross_entropy():
    loss_fn = _build("island", lambda_center=0.0)
    logits, features, labels = _batch()
    value = loss_fn(logits, labels, features=features)
    torch.testing.assert_close(value, F.cross_entropy(logits, labels))
    value.backward()
    assert loss_fn.centres.grad is not None and not loss_fn.centres.grad.any()


def test_island_term_falls_as_centres_spread_in_angle():
    loss_fn = _build("island")
    eye = torch.eye(C, D)
    aligned = torch.ones(C, D)
    assert loss_fn.island_term(aligned) == pytest.approx(C * (C - 1) * 2.0)  # cos = 1 for every pair
    assert loss_fn.island_term(eye) == pytest.approx(C * (C - 1) * 1.0)  # orthogonal: cos = 0
    two = build_loss("island", num_classes=2, num_features=D)
    assert two.island_term(torch.stack([eye[0], -eye[0]])) == pytest.approx(0.0)  # opposite: cos = -1


def test_island_loss_is_centre_loss_plus_weighted_island_term():
    centre, island = _build("center", lambda_center=0.1), _build("island", lambda_center=0.1, lambda_island=2.0)
    island.centres.data.copy_(centre.centres.data)
    logits, features, labels = _batch()
    extra = 0.1 * 2.0 * island.island_term(island.centres.detach())
    torch.testing.assert_close(
        island(logits, labels, features=features), centre(logits, labels, features=features) + extra
    )


def test_weighted_cluster_weights_follow_inverse_class_share():
    w = _build("weighted_cluster").class_weight
    counts = torch.tensor(COUNTS, dtype=torch.float32)
    torch.testing.assert_close(w * counts, torch.full((C,), float(w[0] * counts[0])))  # w ~ 1 / share
    assert w.mean() == pytest.approx(1.0)
    flat = _build("weighted_cluster", power=0.0).class_weight
    torch.testing.assert_close(flat, torch.ones(C))


def test_weighted_cluster_penalises_minor_classes_more_and_rewards_separation():
    loss_fn = _build("weighted_cluster", lambda_cluster=1.0)
    centres = torch.eye(C, D) * 3
    offset = torch.zeros(D)
    offset[-1] = 1.0
    per_class = [float(loss_fn.aux(centres[[k]] + offset, torch.tensor([k]), centres)) for k in range(C)]
    ratios = torch.tensor(per_class) / loss_fn.class_weight
    torch.testing.assert_close(ratios, torch.full((C,), float(ratios[0])))  # same geometry, weight decides
    assert per_class[1] > per_class[0]  # class 1 has 40 images, class 0 has 400
    labels = torch.arange(C)
    near = loss_fn.aux(centres + offset, labels, centres)
    apart = loss_fn.aux(centres * 2 + offset, labels, centres * 2)  # same compactness, centres further apart
    assert apart < near


def test_weighted_cluster_rejects_wrong_counts():
    with pytest.raises(ConfigError, match="class_counts"):
        build_loss("weighted_cluster", num_classes=C, num_features=D, class_counts=[1, 2])
    with pytest.raises(ConfigError, match="must be >= 0"):
        _build("center", lambda_center=-1.0)


def test_weighted_cross_entropy_weights_are_inverse_to_counts():
    loss_fn = _build("weighted_cross_entropy")
    counts = torch.tensor(COUNTS, dtype=torch.float32)
    torch.testing.assert_close(loss_fn.weight * counts, torch.full((C,), float(loss_fn.weight[0] * counts[0])))
    logits, _, labels = _batch()
    torch.testing.assert_close(loss_fn(logits, labels), F.cross_entropy(logits, labels, weight=loss_fn.weight))


def test_focal_loss_with_gamma_zero_is_cross_entropy():
    logits, _, labels = _batch()
    focal = _build("focal", gamma=0.0)
    torch.testing.assert_close(focal(logits, labels), F.cross_entropy(logits, labels))
    soft = torch.softmax(torch.randn(B, C, generator=torch.Generator().manual_seed(3)), 1)
    torch.testing.assert_close(focal(logits, soft), soft_cross_entropy(logits, soft))
    assert _build("focal", gamma=2.0)(logits, labels) < focal(logits, labels)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_soft_cross_entropy_equals_hard_for_one_hot_targets(smoothing):
    logits, _, labels = _batch()
    loss_fn = _build("cross_entropy", label_smoothing=smoothing)
    torch.testing.assert_close(loss_fn(logits, F.one_hot(labels, C).float()), loss_fn(logits, labels))


def test_build_loss_unknown_name_lists_choices():
    with pytest.raises(ConfigError) as err:
        _build("centre_loss")
    for name in ("center", "island", "weighted_cluster", "cross_entropy"):
        assert name in str(err.value)


def test_build_loss_unknown_param_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        _build("island", lambda_centre=0.1)
    message = str(err.value)
    assert "lambda_centre" in message and "lambda_center" in message and "lambda_island" in message
    assert "num_features" not in message  # context arguments are not user parameters
