"""The results-table scripts run end to end on tiny subsets (one epoch, a few dozen images)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.realdata


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _tiny(data_root, cache_dir):
    return ["--set", "epochs=1", "data.train_subset=64", "data.val_subset=32", "optim.batch_size=32", "threads=1",
            f"data.data_root={data_root}", f"data.cache={cache_dir}"]


def test_run_experiments_writes_a_table_and_shares_identical_runs(data_root, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FERKIT_DATA", str(data_root))
    configs = [str(ROOT / "configs/experiments/losses/fer2013_ce.yaml"),
               str(ROOT / "configs/experiments/two_branch/fer2013_image_only.yaml"),   # same training as the first
               str(ROOT / "configs/experiments/losses/fer2013_island.yaml")]
    out = tmp_path / "t.md"
    code = _tool("run_experiments").main(["--configs", *configs, "--output", str(out), "--out-root",
                                          str(tmp_path / "runs"), "--eval-subset", "32", "--perturb",
                                          "occlude_mouth", *_tiny(data_root, cache_dir)])
    assert code == 0
    text = out.read_text()
    assert len([line for line in text.splitlines() if line.startswith("| `")]) == 3
    assert "occlusion acc" in text and "island" in text
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert runs == ["losses_fer2013_ce", "losses_fer2013_island"]


def test_ensemble_experiment_fits_on_held_out_training_images(data_root, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FERKIT_DATA", str(data_root))
    configs = [str(ROOT / "configs/experiments/ensemble/member_ce.yaml"),
               str(ROOT / "configs/experiments/ensemble/member_island.yaml")]
    out = tmp_path / "e.md"
    # members train on 64 Training images; weights and the feature head are fitted on 64 of the other 28,645
    code = _tool("ensemble_experiment").main(["--configs", *configs, "--output", str(out), "--out-root",
                                              str(tmp_path / "runs"), "--eval-subset", "32", "--fit-subset", "64",
                                              *_tiny(data_root, cache_dir)])
    assert code == 0
    text = out.read_text()
    for name in ("vote", "mean", "weighted", "hierarchical", "feature"):
        assert f"ensemble: {name}" in text
    assert "64 held-out" in text


def test_runs_are_shared_only_between_identical_trainings(tmp_path):
    from ferkit.training.config import load_config
    from ferkit.training.runs import shared_run_dir

    a = ROOT / "configs/experiments/losses/fer2013_ce.yaml"
    b = ROOT / "configs/experiments/two_branch/fer2013_image_only.yaml"
    first = shared_run_dir(a, load_config(a), tmp_path)
    assert shared_run_dir(b, load_config(b), tmp_path) == first
    other = shared_run_dir(a, load_config(a, ["epochs=2"]), tmp_path)
    assert other != first and other.name.startswith("losses_fer2013_ce-")
