"""Trainer extensions used by the research methods: attention handed to the loss (RAN + region-biased loss),
the backbone LR multiplier, and denoising-autoencoder pre-training, each on a tiny real subset."""

from __future__ import annotations

import pytest
import torch
from run_configs import tiny_config

from ferkit.errors import ConfigError
from ferkit.training.autoencoder import load_ae_config, pretrain_autoencoder
from ferkit.training.trainer import Trainer

pytestmark = pytest.mark.realdata

# A small RAN on FERPlus with the region-biased loss (the loss that takes the attention weights).
RAN = (
    "model.name=ran",
    "model.kwargs={crop_size: 24}",
    "data.dataset=ferplus",
    "loss.name=region_biased",
    "loss.params={margin: 0.1}",
)


def test_ran_trains_with_the_region_biased_loss(data_root, cache_dir, tmp_path):
    cfg = tiny_config(data_root, cache_dir, tmp_path / "ran", *RAN)
    trainer = Trainer(cfg, progress=False)
    assert trainer.net.with_attention
    seen = {}
    original = trainer.loss.forward

    def spy(logits, targets, features=None, attention=None):
        seen["mu"] = attention["mu"].shape
        return original(logits, targets, features=features, attention=attention)

    trainer.loss.forward = spy
    state = trainer.fit()
    assert seen["mu"][1] == 6 and state.epoch == 1
    assert torch.isfinite(torch.tensor(state.history[0]["train_loss"]))


def test_attention_loss_needs_an_attention_model(data_root, cache_dir, tmp_path):
    with pytest.raises(ConfigError, match="forward_with_attention"):
        Trainer(tiny_config(data_root, cache_dir, tmp_path / "x", "loss.name=region_biased"), progress=False)


def test_backbone_lr_multiplier(data_root, cache_dir, tmp_path):
    plain = Trainer(tiny_config(data_root, cache_dir, tmp_path / "a"), progress=False)
    assert len(plain.optimizer.param_groups) == 2  # unchanged grouping: old checkpoints still resume
    trainer = Trainer(
        tiny_config(data_root, cache_dir, tmp_path / "b", "optim.backbone_lr_mult=0.1", "optim.lr=0.05"), progress=False
    )
    trainer.set_lr(10_000)  # any step: the ratio must hold through the schedule
    head_ids = {id(p) for p in trainer.model.head.parameters()}
    groups = trainer.optimizer.param_groups
    heads = [g for g in groups if {id(p) for p in g["params"]} <= head_ids]
    backbone = [g for g in groups if not {id(p) for p in g["params"]} & head_ids]
    assert len(heads) == 2 and len(backbone) == 2 and len(groups) == 4
    assert sum(len(g["params"]) for g in heads) == 2  # head.weight, head.bias
    for g in backbone:
        assert g["lr_mult"] == 0.1 and g["lr"] == pytest.approx(0.1 * heads[0]["lr"])
    with pytest.raises(ConfigError, match="backbone_lr_mult"):
        tiny_config(data_root, cache_dir, tmp_path / "c", "optim.backbone_lr_mult=-1")


def test_ran_fine_tunes_from_a_plain_classifier(data_root, cache_dir, tmp_path):
    """A ferresnet checkpoint initialises the RAN's shared region encoder; with backbone_lr_mult the fresh
    attention units and head train at the full LR, the pretrained encoder at the reduced one."""
    from ferkit.labels import FERPLUS_LABELS
    from ferkit.models import create_model
    from ferkit.models.checkpoint import read_file, save_model
    from ferkit.transforms.preprocess import Preprocess

    torch.manual_seed(1)
    pre = save_model(tmp_path / "plain.pt", create_model("ferresnet_s", num_classes=8), FERPLUS_LABELS, Preprocess())
    cfg = tiny_config(
        data_root,
        cache_dir,
        tmp_path / "ran",
        *RAN,
        f"model.pretrained={pre}",
        "optim.backbone_lr_mult=0.1",
        "optim.lr=0.05",
    )
    trainer = Trainer(cfg, progress=False)
    source = read_file(pre)["model"]
    own = trainer.model.state_dict()
    torch.testing.assert_close(own["encoder.stem.0.weight"], source["stem.0.weight"])
    encoder_keys = [k for k in own if k.startswith("encoder.")]
    assert encoder_keys and all(torch.equal(own[k], source[k[len("encoder.") :]]) for k in encoder_keys)
    trainer.set_lr(10_000)
    fresh = {id(p) for n, p in trainer.model.named_parameters() if not n.startswith("encoder.")}
    encoder = {id(p) for n, p in trainer.model.named_parameters() if n.startswith("encoder.")}
    for g in trainer.optimizer.param_groups:
        ids = {id(p) for p in g["params"]}
        if ids & fresh:
            assert ids <= fresh and g["lr_mult"] == 1.0
        if ids & encoder:
            assert ids <= encoder and g["lr_mult"] == 0.1
    assert (
        sum(len(g["params"]) for g in trainer.optimizer.param_groups if {id(p) for p in g["params"]} <= fresh) == 6
    )  # self_attention, relation_attention and head: weight + bias each


def test_autoencoder_pretraining_writes_a_loadable_encoder(data_root, cache_dir, tmp_path):
    cfg = load_ae_config(
        None,
        [
            f"data_root={data_root}",
            f"cache={cache_dir}",
            "subset=64",
            "epochs=1",
            "batch_size=32",
            "threads=1",
            f"out={tmp_path / 'enc.pt'}",
        ],
    )
    result = pretrain_autoencoder(cfg)
    assert len(result["history"]) == 1 and result["history"][0]["loss"] > 0
    train_cfg = tiny_config(data_root, cache_dir, tmp_path / "ft", f"model.pretrained={tmp_path / 'enc.pt'}")
    trainer = Trainer(train_cfg, progress=False)  # loads the encoder into ferresnet_s
    enc = torch.load(tmp_path / "enc.pt", weights_only=True)["model"]
    torch.testing.assert_close(trainer.model.state_dict()["stem.0.weight"], enc["stem.0.weight"])
