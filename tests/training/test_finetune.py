"""Multi-stage fine-tuning with subject-independent CV on CK+ (one fold, one-epoch stages)."""

from __future__ import annotations

import pytest
import torch

from ferkit.errors import ConfigError
from ferkit.labels import CKPLUS_LABELS, FER2013_LABELS
from ferkit.models import create_model
from ferkit.models.checkpoint import model_payload, read_file, save_model
from ferkit.training.finetune import load_finetune_config, markdown, run_cv, stage_config, transfer_head
from ferkit.transforms.preprocess import Preprocess


def test_transfer_head_copies_rows_by_label_name():
    torch.manual_seed(0)
    src = create_model("ferresnet_s", num_classes=7)
    payload = model_payload(src, FER2013_LABELS, Preprocess())
    dst = create_model("ferresnet_s", num_classes=7)
    before = dst.head.weight.detach().clone()
    shared = transfer_head(dst, payload, CKPLUS_LABELS)
    assert set(shared) == set(CKPLUS_LABELS) - {"contempt"}
    for i, name in enumerate(CKPLUS_LABELS):
        expected = src.head.weight[FER2013_LABELS.index(name)] if name != "contempt" else before[i]
        torch.testing.assert_close(dst.head.weight[i], expected)


def test_config_order_and_validation(tmp_path):
    path = tmp_path / "ft.yaml"
    path.write_text(
        "dataset: ckplus\nfolds: 10\noverrides: [epochs=3]\n"
        "stages:\n  - {name: a, overrides: [epochs=4, optim.lr=0.5]}\n  - {name: b}\n"
    )
    ft = load_finetune_config(path, ["optim.lr=0.01"])
    cfg = stage_config(ft, 3, 0)
    assert (cfg.epochs, cfg.optim.lr, cfg.data.train_split, cfg.data.val_split) == (4, 0.01, "train3", "fold3")
    assert cfg.out_dir.endswith("fold3/0_a")
    path.write_text("stages: []\n")
    with pytest.raises(ConfigError, match="stage"):
        load_finetune_config(path)
    path.write_text("stages:\n  - {nme: a}\n")
    with pytest.raises(ConfigError, match="nme"):
        load_finetune_config(path)


@pytest.mark.realdata
def test_two_stage_fold_runs_and_reports(data_root, cache_dir, tmp_path):
    torch.manual_seed(0)
    pre = save_model(tmp_path / "fer.pt", create_model("ferresnet_s", num_classes=7), FER2013_LABELS, Preprocess())
    path = tmp_path / "ft.yaml"
    path.write_text(
        f"dataset: ckplus\npretrained: {pre}\nreinit_head: false\nout_dir: {tmp_path / 'runs'}\n"
        "overrides: [model.name=ferresnet_s, data.train_subset=48, optim.batch_size=16, threads=1]\n"
        "stages:\n  - {name: head, overrides: ['model.freeze=[stem, stages]']}\n"
        "  - {name: all, overrides: [optim.backbone_lr_mult=0.1]}\n"
    )
    ft = load_finetune_config(path, ["epochs=1", f"data.data_root={data_root}", f"data.cache={cache_dir}"])
    result = run_cv(ft, folds=[2])
    row = result["per_fold"][0]
    assert row["fold"] == 2 and 0 < row["n"] < 981 and 0 <= row["accuracy"] <= 1
    assert (tmp_path / "runs" / "cv_results.json").is_file()
    head_stage = read_file(tmp_path / "runs" / "fold2" / "0_head" / "final.pt")["model"]
    pretrained = read_file(pre)["model"]
    torch.testing.assert_close(head_stage["stem.0.weight"], pretrained["stem.0.weight"])  # frozen in stage 0
    assert "accuracy" in markdown(result)
