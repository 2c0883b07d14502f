"""Fine-tuning a shipped model with its heads: `model.pretrained_head` and `model.aux_pretrained` start the
main and auxiliary heads from model files (or shipped names) whose labels match, and refuse ones that do not."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ferkit import pretrained
from ferkit.errors import ModelError
from ferkit.models import create_model
from ferkit.models.checkpoint import read_file
from ferkit.models.weights import load_head
from ferkit.training.config import load_config
from ferkit.training.trainer import Trainer


def test_load_head_copies_rows_only_when_the_labels_match(tmp_path):
    source = create_model("ferresnet_s", num_classes=3)
    path = tmp_path / "m.pt"
    torch.save({"labels": ["a", "b", "c"], "model": source.state_dict()}, path)
    target = create_model("ferresnet_s", num_classes=3)
    load_head(target.head, path, ("a", "b", "c"))
    torch.testing.assert_close(target.head.weight, source.head.weight)
    torch.testing.assert_close(target.head.bias, source.head.bias)
    with pytest.raises(ModelError, match="labels"):
        load_head(target.head, path, ("b", "a", "c"))  # same names, other order: other rows


@pytest.mark.realdata
def test_trainer_starts_both_heads_from_the_shipped_models(data_root, cache_dir, tmp_path):
    recipe = (
        Path(__file__).resolve().parents[2] / "lab" / "configs" / "experiments" / "robust" / "multitask_robust.yaml"
    )
    cfg = load_config(
        recipe,
        [
            f"data.data_root={data_root}",
            f"data.cache={cache_dir}",
            f"out_dir={tmp_path}",
            "data.train_subset=64",
            "data.val_subset=64",
            "epochs=1",
            "threads=1",
        ],
    )
    t = Trainer(cfg, progress=False)
    plus, fer = (read_file(pretrained.resolve(n))["model"] for n in ("ferplus", "fer2013"))
    torch.testing.assert_close(t.model.head.weight.detach().float(), plus["head.weight"].float())
    torch.testing.assert_close(t.aux.heads["fer2013"].weight.detach().float(), fer["head.weight"].float())
    key = next(k for k in plus if k.startswith("stem") and k.endswith("weight"))
    torch.testing.assert_close(t.model.state_dict()[key].float(), plus[key].float())
