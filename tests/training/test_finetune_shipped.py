"""`ferkit finetune --pretrained fer2013` starts stage 0 from the shipped model file."""

from __future__ import annotations

import json

import pytest
import torch

from ferkit import pretrained
from ferkit.cli.main import main as cli
from ferkit.models.checkpoint import read_file


@pytest.mark.realdata
@pytest.mark.slow
def test_finetune_accepts_a_shipped_model_name(data_root, cache_dir, tmp_path):
    config = tmp_path / "ft.yaml"
    config.write_text(
        f"dataset: ckplus\nreinit_head: true\nout_dir: {tmp_path / 'runs'}\n"
        "overrides: [model.name=ferresnet_m, data.train_subset=32, optim.batch_size=16, threads=1]\n"
        "stages:\n  - {name: head, overrides: ['model.freeze=[stem, stages]', optim.lr=0.0]}\n"
    )
    code = cli(
        [
            "finetune",
            "--config",
            str(config),
            "--pretrained",
            "fer2013",
            "epochs=1",
            f"data.data_root={data_root}",
            f"data.cache={cache_dir}",
            "--folds",
            "1",
        ]
    )
    assert code == 0
    assert json.loads((tmp_path / "runs" / "cv_results.json").read_text())["folds"] == 1
    tuned = read_file(tmp_path / "runs" / "fold1" / "0_head" / "final.pt")["model"]
    shipped = read_file(pretrained.resolve("fer2013"))["model"]
    key = next(k for k in shipped if k.startswith("stem") and k.endswith("weight"))
    torch.testing.assert_close(tuned[key].float(), shipped[key].float())  # the frozen stem is the shipped one


def test_finetune_rejects_an_unknown_pretrained_name(tmp_path, capsys):
    config = tmp_path / "ft.yaml"
    config.write_text("dataset: ckplus\nstages:\n  - {name: all}\n")
    assert cli(["finetune", "--config", str(config), "--pretrained", "no_such_model"]) == 2
    err = capsys.readouterr().err
    assert "no_such_model" in err and "shipped model" in err
