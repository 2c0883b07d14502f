"""Ensembles: alignment by label name, fusion rules, preprocessing adaptation, one-file save/load, ONNX export."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ferkit.errors import ConfigError, ModelError
from ferkit.labels import FER2013_LABELS, FERPLUS_LABELS
from ferkit.models import create_model
from ferkit.models.checkpoint import LoadedModel, load_model, save_model
from ferkit.models.ensemble import build_ensemble, shared_labels
from ferkit.training.ensemble_fit import check_fit_split, fit_feature_head, fit_weights
from ferkit.transforms.preprocess import Preprocess


def _member(labels, seed: int, preprocess: Preprocess | None = None, arch: str = "ferresnet_s") -> LoadedModel:
    torch.manual_seed(seed)
    model = create_model(arch, num_classes=len(labels)).eval()
    for m in model.modules():  # non-trivial BN statistics so members disagree and depend on the input
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.weight.data.uniform_(0.5, 1.5)
    with torch.no_grad():
        model.head.weight.mul_(20)  # confident members, so votes and averages differ
    return LoadedModel(
        model=model, labels=tuple(labels), preprocess=preprocess or Preprocess(), arch=arch, meta={"arch_kwargs": {}}
    )


@pytest.fixture(scope="module")
def members():
    return [_member(FER2013_LABELS, 0), _member(FERPLUS_LABELS, 1), _member(tuple(reversed(FER2013_LABELS)), 2)]


def _x(batch: int = 4, size: int = 40) -> torch.Tensor:
    return torch.randn(batch, 1, size, size, generator=torch.Generator().manual_seed(1))


def _aligned_probs(lm: LoadedModel, labels, x) -> torch.Tensor:
    """A member's probabilities over ``labels``, looked up by name and renormalised."""
    with torch.no_grad():
        logits = lm.model(x)
    idx = [lm.labels.index(n) for n in labels]
    return F.softmax(logits[:, idx], 1)


def test_shared_labels_keep_the_first_members_order(members):
    assert shared_labels([m.labels for m in members]) == list(FER2013_LABELS)
    assert "contempt" not in shared_labels([FERPLUS_LABELS, FER2013_LABELS])


def test_members_are_aligned_by_label_name(members):
    ens = build_ensemble(members, method="mean")
    assert ens.labels == FER2013_LABELS
    x = _x()
    with torch.no_grad():
        got = ens.member_log_probs(x).exp()
    for i, lm in enumerate(members):
        torch.testing.assert_close(got[:, i], _aligned_probs(lm, FER2013_LABELS, x))


@pytest.mark.parametrize("method", ["mean", "weighted", "vote", "hierarchical"])
def test_fusion_rules(members, method):
    groups = [[0, 1], [2]] if method == "hierarchical" else None
    ens = build_ensemble(members, method=method, groups=groups)
    if method == "weighted":
        ens.head.weight.copy_(torch.tensor([0.5, 0.3, 0.2]))
    x = _x(8)
    p = torch.stack([_aligned_probs(lm, FER2013_LABELS, x) for lm in members], 1)
    with torch.no_grad():
        fused = ens(x).softmax(1)
    torch.testing.assert_close(fused.sum(1), torch.ones(8))
    if method == "mean":
        torch.testing.assert_close(fused, p.mean(1))
    elif method == "weighted":
        torch.testing.assert_close(fused, (torch.tensor([0.5, 0.3, 0.2]).view(1, 3, 1) * p).sum(1))
    elif method == "vote":
        votes = F.one_hot(p.argmax(2), 7).float().sum(1)
        winners = fused.argmax(1)
        assert (votes.gather(1, winners[:, None]).squeeze(1) == votes.max(1).values).all()
    else:
        committees = torch.stack([p[:, [0, 1]].mean(1), p[:, [2]].mean(1)], 1)
        votes = F.one_hot(committees.argmax(2), 7).float().sum(1)
        assert (votes.gather(1, fused.argmax(1)[:, None]).squeeze(1) == votes.max(1).values).all()


def test_bad_groups_and_modes_raise(members):
    with pytest.raises(ModelError, match="groups"):
        build_ensemble(members, method="hierarchical", groups=[[0, 1]])
    with pytest.raises(ModelError, match="mode"):
        build_ensemble(members, mode="stacked")
    with pytest.raises(ModelError, match="lacks"):
        build_ensemble(members, labels=list(FERPLUS_LABELS))  # contempt is missing from two members


def test_member_with_another_field_of_view_sees_its_own_crop():
    wide = _member(FER2013_LABELS, 3, Preprocess(source_size=48, input_size=48, mean=[0.4], std=[0.3]))
    narrow = _member(FER2013_LABELS, 4, Preprocess(source_size=48, input_size=40))
    ens = build_ensemble([wide, narrow])
    assert ens.preprocess.input_size == 48 and ens.preprocess.mean == [0.4]
    crops = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    with torch.no_grad():
        got = ens.member_log_probs(ens.preprocess(crops)).exp()
        own = [F.softmax(m.model(m.preprocess(crops)), 1) for m in (wide, narrow)]
    torch.testing.assert_close(got[:, 0], own[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got[:, 1], own[1], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("mode,method", [("decision", "weighted"), ("feature", "mean")])
def test_save_load_round_trip_and_onnx(members, mode, method, tmp_path):
    ens = build_ensemble(members[:2], mode=mode, method=method)
    if mode == "decision":
        ens.head.weight.copy_(torch.tensor([0.8, 0.2]))
    else:
        torch.manual_seed(0)
        ens.head.reset_parameters()
    path = save_model(tmp_path / "ens.pt", ens, ens.labels, ens.preprocess, arch_kwargs=ens.arch_kwargs())
    loaded = load_model(path)
    assert loaded.arch == "ensemble" and loaded.labels == ens.labels
    x = _x(2)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), ens(x))
    import onnxruntime as ort

    from ferkit.export.onnx import onnx_bytes, read_onnx_metadata

    data = onnx_bytes(loaded)
    assert read_onnx_metadata(data)["labels"] == ens.labels
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    logits, feats = sess.run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(logits, ens(x).numpy(), atol=1e-4, rtol=1e-4)
        np.testing.assert_allclose(feats, ens.forward_features(x).numpy(), atol=1e-4, rtol=1e-4)


def test_feature_mode_normalises_each_member_and_trains_its_head(members):
    ens = build_ensemble(members[:2], mode="feature")
    x = _x(4)
    with torch.no_grad():
        f = ens.forward_features(x)
    dims = [m.model.num_features for m in ens.members]
    assert f.shape == (4, sum(dims))
    for part in torch.split(f, dims, 1):
        torch.testing.assert_close(part.norm(dim=1), torch.ones(4))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 7, 60)
    signal = np.eye(7)[y].repeat(sum(dims) // 7 + 1, 1)[:, : sum(dims)] * 3
    feats = (rng.normal(size=(60, sum(dims))) + signal).astype(np.float32)
    fit_feature_head(ens, feats, y, epochs=100, lr=0.05)
    with torch.no_grad():
        acc = (ens.head(torch.from_numpy(feats)).argmax(1).numpy() == y).mean()
    assert acc > 0.9


def test_fitted_weights_favour_the_informative_member():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    good = np.eye(4)[y] * 0.9 + 0.025
    noise = rng.dirichlet(np.ones(4), size=200)
    w = fit_weights(np.stack([noise, good], 1), y)
    assert w.shape == (2,) and abs(w.sum() - 1) < 1e-6 and w[1] > 0.8


def test_weights_are_never_fitted_on_a_reported_split():
    for split in ("PublicTest", "privatetest", "fold3"):
        with pytest.raises(ConfigError, match="reported split"):
            check_fit_split(split)
    check_fit_split("Training")
    check_fit_split("train3")
