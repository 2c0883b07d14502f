"""Real-data runs of the FERPlus paper's ML and PLD schemes (train, resume exactly, evaluate) and of offline
augmentation from a config, on small subsets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import run_configs
import torch

from ferkit.cli.main import main as cli
from ferkit.training.trainer import Trainer

pytestmark = pytest.mark.realdata


def small_config(data_root, cache_dir, out, *extra):
    """FERPlus, 256 training and 128 validation images, one thread, fp32 (exact resumes)."""
    return run_configs.small_config(
        data_root,
        cache_dir,
        out,
        "data.dataset=ferplus",
        "data.train_subset=256",
        "data.val_subset=128",
        "threads=1",
        "precision=fp32",
        *extra,
    )


@pytest.mark.parametrize("mode", ["multi_target", "draw"])
def test_paper_scheme_trains_resumes_exactly_and_evaluates(mode, data_root, cache_dir, tmp_path):
    torch.use_deterministic_algorithms(True)
    try:
        full = Trainer(
            small_config(data_root, cache_dir, tmp_path / "a", f"data.mode={mode}", "epochs=2"), progress=False
        )
        full.fit()
        first = Trainer(
            small_config(data_root, cache_dir, tmp_path / "b", f"data.mode={mode}", "epochs=2", "max_minutes=0"),
            progress=False,
        )
        first.fit()  # stops after epoch 1
        second = Trainer(
            small_config(data_root, cache_dir, tmp_path / "b", f"data.mode={mode}", "epochs=2"),
            resume=True,
            progress=False,
        )
        assert second.state.epoch == 1
        second.fit()
    finally:
        torch.use_deterministic_algorithms(False)
    assert type(full.loss).__name__ == ("MultiTargetLoss" if mode == "multi_target" else "CrossEntropy")
    if mode == "draw":  # hard labels drawn for the epoch, from the crossentropy distributions
        drawn = full.feed.targets.cpu().numpy()
        assert drawn.ndim == 1 and (full.train_set.targets[np.arange(len(drawn)), drawn] > 0).all()
    else:  # 1 for accepted emotions, epsilon elsewhere
        t = full.train_set.targets
        assert (np.isclose(t, 1e-3) | (t == 1)).all() and (t == 1).any(1).all()
    assert full.val_sets["main"].info["mode"] == "majority"  # validation keeps the majority protocol
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    for k in a["model"]:
        assert torch.allclose(a["model"][k].float(), b["model"][k].float(), atol=1e-5), k
    out = tmp_path / "eval.json"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(tmp_path / "a" / "best.pt"),
                "--dataset",
                "ferplus",
                "--data-root",
                str(data_root),
                "--subset",
                "128",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    # a majority label always holds > 50% of the votes, so it is always accepted
    assert result["accuracy"] <= result["accepted_accuracy"] <= 1


def test_offline_augmentation_trains_from_a_config_and_is_cached(data_root, cache_dir, tmp_path):
    extra = ("data.offline_augment={copies: 2, seed: 3}", "epochs=1")
    t = Trainer(small_config(data_root, cache_dir, tmp_path / "off", *extra), progress=False)
    assert len(t.train_set) == 3 * 256 and t.train_set.extra["copy"].tolist()[::256] == [0, 1, 2]
    assert t.augment.cfg.flip == 0 and t.augment.cfg.erase == 0  # online: false -> centre crop only
    state = t.fit()
    assert state.epoch == 1
    key = t.train_set.info["offline_augment"]["cache_key"]
    assert any(p.name.endswith(key) for p in cache_dir.iterdir())
    again = Trainer(small_config(data_root, cache_dir, tmp_path / "again", *extra), progress=False)
    np.testing.assert_array_equal(again.train_set.images, t.train_set.images)  # read back from the cache
    both = Trainer(
        small_config(data_root, cache_dir, tmp_path / "both", *extra[:1], "data.offline_augment.online=true"),
        progress=False,
    )
    assert both.augment.cfg.flip == 0.5
