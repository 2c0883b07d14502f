"""`compile: true` (torch.compile of the training step) on a real FER2013 subset: it trains, and the weights it
saves are the plain network's (no compiled-wrapper names), so `ferkit evaluate` of them agrees with the
validation inside training."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from run_configs import small_config

from ferkit.cli.main import main as cli
from ferkit.training.trainer import train

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("g++") is None and shutil.which("c++") is None,
        reason="torch.compile on the CPU needs a C++ compiler",
    ),
]


def test_compiled_run_trains_and_saves_plain_weights(data_root, cache_dir, tmp_path):
    out = tmp_path / "run"
    cfg = small_config(
        data_root, cache_dir, out, "epochs=2", "compile=true", "precision=fp32", "augment.erase=0", "augment.rotate=0"
    )
    state = train(cfg, progress=False)
    assert len(state.history) == 2
    assert all(row["train_loss"] == row["train_loss"] for row in state.history)  # no NaN
    saved = torch.load(out / "best.pt", map_location="cpu", weights_only=True)
    names = list(saved["model"] if "model" in saved else saved["state_dict"])
    assert names and not any("_orig_mod" in n for n in names), names[:3]
    best = json.loads((out / "best_metrics.json").read_text())
    result_file = tmp_path / "eval.json"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(out / "best.pt"),
                "--dataset",
                "fer2013",
                "--data-root",
                str(data_root),
                "--split",
                "PublicTest",
                "--subset",
                "320",
                "--json",
                str(result_file),
            ]
        )
        == 0
    )
    assert json.loads(result_file.read_text())["accuracy"] == pytest.approx(best["accuracy"], abs=1e-9)
