"""The results-table scripts run end to end on tiny subsets (one epoch, a few dozen images)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lab_tools import load_tool

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.realdata


@pytest.fixture
def drive(data_root, cache_dir, tmp_path, monkeypatch):
    """Runs an experiment driver, ``drive(tool, configs, out, *options)``: lab/tools/<tool>.py on ``configs`` with
    ``options``, its table at ``out``, its runs under tmp_path/runs, each one epoch on 64 images evaluated on 32.
    Returns the driver's exit code."""
    monkeypatch.setenv("FERKIT_DATA", str(data_root))

    def run(tool: str, configs: list[str], out: Path, *options: str) -> int:
        tiny = [
            "--output",
            str(out),
            "--out-root",
            str(tmp_path / "runs"),
            "--eval-subset",
            "32",
            "--set",
            "epochs=1",
            "data.train_subset=64",
            "data.val_subset=32",
            "optim.batch_size=32",
            "threads=1",
            f"data.data_root={data_root}",
            f"data.cache={cache_dir}",
        ]
        return load_tool(tool).main(["--configs", *configs, *options, *tiny])

    return run


def test_run_experiments_writes_a_table_and_shares_identical_runs(drive, tmp_path):
    configs = [
        str(ROOT / "lab/configs/experiments/losses/fer2013_ce.yaml"),
        str(ROOT / "lab/configs/experiments/two_branch/fer2013_image_only.yaml"),  # same training as the first
        str(ROOT / "lab/configs/experiments/losses/fer2013_island.yaml"),
    ]
    out = tmp_path / "t.md"
    assert drive("run_experiments", configs, out, "--perturb", "occlude_mouth") == 0
    text = out.read_text()
    assert len([line for line in text.splitlines() if line.startswith("| `")]) == 3
    assert "occlusion acc" in text and "island" in text
    assert "rarest-class recall" in text
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert runs == ["losses_fer2013_ce", "losses_fer2013_island"]


def test_a_sweep_is_one_base_recipe_and_a_list_of_overrides(drive, tmp_path):
    base = str(ROOT / "lab/configs/experiments/losses/fer2013_ce.yaml")
    out = tmp_path / "s.md"
    assert drive("run_experiments", [base], out, "--sweep", "optim.lr=0.1", "optim.lr=0.05 seed=1") == 0
    rows = [line for line in out.read_text().splitlines() if line.startswith("| `")]
    assert len(rows) == 2 and "fer2013_ce.yaml [optim.lr=0.05 seed=1]`" in rows[1] and "| 1 |" in rows[1]
    runs = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    assert len(runs) == 2  # two trainings, never one run reused for other settings
    table = load_tool("results_table").collect_rows(tmp_path)
    assert [r["row"] for r in table] == ["fer2013_ce [optim.lr=0.1]", "fer2013_ce [optim.lr=0.05 seed=1]"]
    assert all(r["config"] == base for r in table)


def test_ensemble_experiment_fits_on_held_out_training_images(drive, tmp_path):
    configs = [
        str(ROOT / "lab/configs/experiments/ensemble/member_ce.yaml"),
        str(ROOT / "lab/configs/experiments/ensemble/member_island.yaml"),
    ]
    out = tmp_path / "e.md"
    # members train on 64 Training images; weights and the feature head are fitted on 64 of the other 28,645
    assert drive("ensemble_experiment", configs, out, "--fit-subset", "64") == 0
    text = out.read_text()
    for name in ("vote", "mean", "weighted", "hierarchical", "feature"):
        assert f"ensemble: {name}" in text
    assert "64 held-out" in text


def test_runs_are_shared_only_between_identical_trainings(tmp_path):
    from ferkit.training.config import load_config
    from ferkit.training.runs import shared_run_dir

    a = ROOT / "lab/configs/experiments/losses/fer2013_ce.yaml"
    b = ROOT / "lab/configs/experiments/two_branch/fer2013_image_only.yaml"
    first = shared_run_dir(a, load_config(a), tmp_path)
    assert shared_run_dir(b, load_config(b), tmp_path) == first
    other = shared_run_dir(a, load_config(a, ["epochs=2"]), tmp_path)
    assert other != first and other.name.startswith("losses_fer2013_ce-")


def test_set_for_overrides_only_the_named_model(drive, tmp_path):
    import yaml

    configs = [
        str(ROOT / "lab/configs/experiments/ran/ferplus_baseline.yaml"),
        str(ROOT / "lab/configs/experiments/ran/ferplus_ran_ce.yaml"),
    ]
    out = tmp_path / "r.md"
    assert drive("run_experiments", configs, out, "--set-for", "ran", "model.kwargs.crop_size=16") == 0
    base = yaml.safe_load((tmp_path / "runs/ran_ferplus_baseline/config.yaml").read_text())
    ran = yaml.safe_load((tmp_path / "runs/ran_ferplus_ran_ce/config.yaml").read_text())
    assert not base["model"].get("kwargs") and ran["model"]["kwargs"]["crop_size"] == 16
    assert "configs of model `ran`: `model.kwargs.crop_size=16`" in out.read_text()


def test_concurrent_run_registration_loses_no_entry(tmp_path):
    import json
    from concurrent.futures import ThreadPoolExecutor

    from ferkit.training.config import load_config
    from ferkit.training.runs import shared_run_dir

    a = ROOT / "lab/configs/experiments/losses/fer2013_ce.yaml"
    with ThreadPoolExecutor(8) as pool:
        dirs = list(pool.map(lambda e: shared_run_dir(a, load_config(a, [f"epochs={e}"]), tmp_path), range(1, 17)))
    assert len(set(dirs)) == 16
    assert len(json.loads((tmp_path / "index.json").read_text())) == 16


def test_classical_heads_table_compares_with_the_softmax_head(data_root, untrained_fer2013_model, tmp_path):
    import json

    from ferkit.cli.main import main as cli

    model = untrained_fer2013_model
    for split, n in (("Training", 120), ("PublicTest", 40)):
        assert (
            cli(
                [
                    "features",
                    "--model",
                    str(model),
                    "--dataset",
                    "fer2013",
                    "--split",
                    split,
                    "--data-root",
                    str(data_root),
                    "--subset",
                    str(n),
                    "--output",
                    str(tmp_path / f"{split}.npz"),
                ]
            )
            == 0
        )
    out = tmp_path / "c.md"
    code = load_tool("classical_heads").main(
        [
            "--train",
            str(tmp_path / "Training.npz"),
            "--test",
            str(tmp_path / "PublicTest.npz"),
            "--heads",
            "logistic_regression",
            "svm",
            "--svm-subset",
            "60",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["head"].split(" ")[0] for r in rows] == ["network", "logistic_regression", "svm"]
    assert [r["fit_n"] for r in rows] == [None, 120, 60]
    assert all(r["n"] == 40 and 0 <= r["accuracy"] <= 1 for r in rows)


def test_eval_tables_and_results_index(data_root, untrained_fer2013_model, tmp_path):
    from ferkit.cli.main import main as cli

    model = untrained_fer2013_model
    robust, ck = tmp_path / "r.json", tmp_path / "ck.json"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(model),
                "--dataset",
                "fer2013",
                "--data-root",
                str(data_root),
                "--subset",
                "30",
                "--perturb",
                "occlude_mouth",
                "blur",
                "--json",
                str(robust),
            ]
        )
        == 0
    )
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(model),
                "--dataset",
                "ckplus",
                "--split",
                "fold0",
                "--data-root",
                str(data_root),
                "--json",
                str(ck),
            ]
        )
        == 0
    )
    results = tmp_path / "results"
    tables = load_tool("eval_tables")
    assert tables.main(["robustness", str(robust), "--output", str(results / "robustness.md")]) == 0
    text = (results / "robustness.md").read_text()
    assert "| occlude_mouth | occlusion |" in text and "| blur_2.0 | blur |" in text
    assert tables.main(["cross", str(ck), "--output", str(results / "cross_dataset.md")]) == 0
    row = [line for line in (results / "cross_dataset.md").read_text().splitlines() if line.startswith("| `")]
    assert len(row) == 1 and "| ckplus | fold0 | 6 |" in row[0]
    with pytest.raises(SystemExit, match="no 'perturbations'"):
        tables.main(["robustness", str(ck), "--output", str(tmp_path / "x.md")])
    assert load_tool("collect_results").main(["--dir", str(results)]) == 0
    index = (results / "README.md").read_text()  # one line per page, the missing ones with their command
    assert "| [Robustness of the shipped models to synthetic perturbations](robustness.md) | 0 |" in index
    assert "- Speed benchmarks: not produced yet (`benchmarks/*.py`)" in index
    assert (results / "runs.csv").read_text().startswith("experiment,row,model,")


def test_seeds_give_one_row_each_and_a_mean_std_summary(drive, tmp_path):
    import json

    out = tmp_path / "s.md"
    ce = str(ROOT / "lab/configs/experiments/losses/fer2013_ce.yaml")
    assert drive("run_experiments", [ce], out, "--seeds", "0", "1") == 0
    rows = json.loads(out.with_suffix(".json").read_text())["rows"]
    assert [r["seed"] for r in rows] == [0, 1] and rows[0]["run"] != rows[1]["run"]
    accs = [r["accuracy"] for r in rows]
    summary = [line for line in out.read_text().splitlines() if line.startswith("| `") and "| 0, 1 |" in line]
    assert len(summary) == 1
    assert f"{sum(accs) / 2:.4f} ± " in summary[0]


def test_ship_model_writes_weights_summary_card_and_figures(data_root, untrained_fer2013_model, tmp_path):
    """The packaging tool measures the file it writes (not the checkpoint) and fills the card from it."""
    import json

    import torch

    from ferkit.models.checkpoint import load_model

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "metrics.csv").write_text(
        "epoch,train_loss,train_acc,lr,epoch_seconds,val_acc,val_fer2013_acc\n"
        "1,2.0,0.3,0.1,60,0.4,0.3\n2,1.8,0.4,0.05,61,0.5,0.35\n"
    )
    notes = tmp_path / "notes.md"
    notes.write_text("Resumed once after epoch 1.")
    out = tmp_path / "pretrained"
    load_tool("ship_model").main(
        [
            "--checkpoint",
            str(untrained_fer2013_model),
            "--name",
            "tiny",
            "--dataset",
            "fer2013",
            "--config",
            "configs/fer2013.yaml",
            "--run-dir",
            str(run_dir),
            "--data-root",
            str(data_root),
            "--out-dir",
            str(out),
            "--notes",
            str(notes),
        ]
    )
    for suffix in (".pt", ".json", ".md", "_confusion.png", "_curve.png"):
        assert (out / f"tiny{suffix}").stat().st_size > 0, suffix
    summary = json.loads((out / "tiny.json").read_text())
    assert summary["publictest_n"] == 3589 and summary["epochs_run"] == 2 and summary["train_seconds"] == 121
    assert 0.0 <= summary["publictest_accuracy"] < 0.5  # an untrained network is near chance, not near the card
    card = (out / "tiny.md").read_text()
    assert f"| accuracy | {summary['publictest_accuracy']:.4f} |" in card
    assert "## How this run went (for reproduction)\nResumed once after epoch 1." in card
    assert "tiny_curve.png" in card
    stored = torch.load(out / "tiny.pt", map_location="cpu", weights_only=True)["model"]
    assert all(v.dtype == torch.float16 for v in stored.values() if v.is_floating_point())  # half-size file
    assert load_model(out / "tiny.pt").labels[0] == "anger"


def test_ship_model_card_describes_the_runs_own_heads_and_protocol():
    """A single-head majority-vote run (the RAN) is not described as the joint multitask recipe."""
    ship = load_tool("ship_model")
    joint = {"data": {"dataset": "ferplus", "mode": "probability", "aux_heads": ["fer2013"]}, "ema_decay": 0.999}
    single = {"data": {"dataset": "ferplus", "mode": "majority", "aux_heads": []}, "ema_decay": 0.0}
    assert "jointly" in ship.training_data_text(joint) and "vote distributions" in ship.training_data_text(joint)
    assert "majority-vote label" in ship.training_data_text(single) and "jointly" not in ship.training_data_text(single)
    two_heads = [{"epoch": 1, "train_loss": 1.0, "val_acc": 0.8, "val_fer2013_acc": 0.6, "epoch_seconds": 100}]
    one_head = [{"epoch": 1, "train_loss": 1.0, "val_acc": 0.87, "epoch_seconds": 180}]
    table = ship.curve_table(two_heads, joint)
    assert "fer2013 head" in table and "| 1 | 1.000 | 0.8000 | 0.6000 | 100 |" in table and "probability-mode" in table
    table = ship.curve_table(one_head, single)
    assert "fer2013" not in table and "nan" not in table and "| 1 | 1.000 | 0.8700 | 180 |" in table
    assert "same PublicTest protocol" in table
