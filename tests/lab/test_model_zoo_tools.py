"""The model zoo: every config trains one tiny step, the driver runs/scores/packs runs, the table is generated."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml

from ferkit.cli.main import main as cli
from ferkit.training.typed import read_yaml

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "lab" / "configs" / "zoo"
CONFIGS = sorted(p for p in ZOO.glob("*.yaml") if p.name != "zoo.yaml" and not p.name.startswith("_"))  # _base
ROW_CONFIGS = sorted(
    {ROOT / r["config"] for r in yaml.safe_load((ZOO / "zoo.yaml").read_text())["rows"]} | set(CONFIGS)
)


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "lab" / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if hasattr(module, "ARCHIVE"):  # tests see only the runs they make, never the repository's archived records
        module.ARCHIVE = ROOT / "tests" / "no-such-archive"
    if hasattr(module, "EARLIER"):  # ... nor rows carried from the repository's earlier table
        module.EARLIER = ROOT / "tests" / "no-such-earlier-table.md"
    return module


def test_manifest_lists_every_config_once_with_a_cited_reference():
    rows = yaml.safe_load((ZOO / "zoo.yaml").read_text())["rows"]
    in_zoo = sorted(ROOT / r["config"] for r in rows if r["config"].startswith("lab/configs/zoo/"))
    assert in_zoo == CONFIGS  # every zoo config is one row's, once
    elsewhere = [r["config"] for r in rows if not r["config"].startswith("lab/configs/zoo/")]
    assert all(c.startswith("lab/configs/experiments/") and (ROOT / c).is_file() for c in elsewhere), elsewhere
    assert len({r["name"] for r in rows}) == len(rows)
    for row in rows:
        assert row["reference"]["source"] and row["reference"]["metric"], row["name"]
        assert row["eval"]["dataset"] in ("fer2013", "ferplus")
    seed003 = [r for r in rows if r["name"].startswith("seed003_")]
    assert len(seed003) == 3 and all(r["seeds"] == [0, 1, 2] for r in seed003)


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("config", ROW_CONFIGS, ids=lambda p: p.stem)
def test_zoo_config_trains_one_tiny_step(config, data_root, cache_dir, tmp_path):
    raw = read_yaml(config)  # with its base recipe
    extra = []
    if raw["model"].get("pretrained"):  # repo-relative in the config; absolute here
        extra.append(f"model.pretrained={ROOT / raw['model']['pretrained']}")
    if raw["model"]["name"] == "ran":  # six ResNet-18 passes per face take 15 s on CI's CPU; the
        extra.append("model.kwargs.backbone=ferresnet_s")  # config's keys are what this test checks
    code = cli(
        [
            "train",
            "--config",
            str(config),
            "--out-dir",
            str(tmp_path / "run"),
            "--no-progress",
            "epochs=1",
            "data.train_subset=8",
            "data.val_subset=8",
            "optim.batch_size=8",
            "threads=1",
            "device=cpu",
            f"data.data_root={data_root}",
            f"data.cache={cache_dir}",
            *extra,
        ]
    )
    assert code == 0
    assert (tmp_path / "run" / "best.pt").is_file() and (tmp_path / "run" / "metrics.csv").is_file()


@pytest.mark.realdata
@pytest.mark.slow
def test_zoo_run_scores_packs_and_zoo_table_reports_the_run(data_root, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("FERKIT_DATA", str(data_root))
    monkeypatch.setenv("FERKIT_CACHE", str(cache_dir))
    zoo_run, zoo_table = _tool("zoo_run"), _tool("zoo_table")
    runs, out = tmp_path / "runs", tmp_path / "out"
    zoo_run.main(
        [
            "--rows",
            "vgg_fer_rt_fer2013",
            "--budget-minutes",
            "3",
            "--parallel",
            "1",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--runs-root",
            str(runs),
            "--eval-subset",
            "40",
            "--pack",
            str(out),
            "--set",
            "epochs=1",
            "data.train_subset=16",
            "data.val_subset=16",
            "optim.batch_size=8",
        ]
    )
    run = runs / "vgg_fer_rt_fer2013_s0"
    record = json.loads((run / "zoo_run.json").read_text())
    assert record["exit_code"] == 0 and record["onnx_ms_per_face"] > 0 and record["wall_seconds"] > 0
    assert record["hardware"].startswith("CPU ") and record["hardware"].endswith(f" x{os.cpu_count()}")
    single = json.loads((run / "eval_main_none.json").read_text())
    assert single["n"] == 40 and "ece" in single
    import numpy as np

    with np.load(run / "scores_main_flip.npz") as saved:  # per-image probabilities, for the table's ensembles
        assert saved["scores"].shape == (40, 7) and saved["hard"].shape == (40,)
        assert list(saved["labels"]) == single["model_labels"]
    # weights-only fp16 copy next to the full checkpoint
    import torch

    slim = torch.load(run / "best_fp16.pt", weights_only=True)
    assert "optimizer" not in slim and all(v.dtype != torch.float32 for v in slim["model"].values())
    # the pack: <= 8 parts under 16 MiB that reassemble into the run folder (last.pt left out)
    parts = sorted(out.glob("zoo.tar.part*"))
    assert 1 <= len(parts) <= 8 and all(p.stat().st_size < 16 * 2**20 for p in parts)
    whole = tmp_path / "zoo.tar"
    whole.write_bytes(b"".join(p.read_bytes() for p in parts))
    with tarfile.open(whole) as tar:
        names = set(tar.getnames())
    assert "vgg_fer_rt_fer2013_s0/best_fp16.pt" in names and "vgg_fer_rt_fer2013_s0/last.pt" not in names
    # the generated table carries the measured numbers, not typed ones
    md = tmp_path / "zoo.md"
    archive = tmp_path / "archive"
    zoo_table.main(["--runs-root", str(runs), "--output", str(md), "--archive", str(archive)])
    text = md.read_text()
    line = next(row for row in text.splitlines() if row.startswith("| vgg_fer_rt_fer2013 |"))
    assert f"| {100 * single['accuracy']:.2f} |" in line and "| 0.784 |" in line and "73.28%" in line
    assert "| ran_ferplus | ferplus | no finished run |" in text
    curves = tmp_path / "zoo_curves" / "vgg_fer_rt_fer2013_s0.png"  # drawn by the trainer, copied and linked
    assert curves.read_bytes() == (run / "curves.png").read_bytes()
    assert "Training curves: [seed 0](zoo_curves/vgg_fer_rt_fer2013_s0.png)" in text
    # the run folder lost (a fresh checkout): its archived record gives the same table line, cost included
    kept = _tool("zoo_archive").archive_run(run, archive)
    assert not list(kept.glob("*.pt")) and json.loads((kept / "cost.json").read_text())["main"]["params"] > 0
    moved = tmp_path / "moved"
    run.rename(moved)
    zoo_table.main(["--runs-root", str(runs), "--output", str(md), "--archive", str(archive)])
    assert next(row for row in md.read_text().splitlines() if row.startswith("| vgg_fer_rt_fer2013 |")) == line
    moved.rename(run)
    # --rescore: the evaluations again (the probabilities of an older run), the record as it was
    zoo_score = _tool("zoo_score")
    before = (run / "zoo_run.json").read_bytes()
    (run / "scores_main_flip.npz").unlink()
    zoo_score.main([str(run), "--row", "vgg_fer_rt_fer2013", "--rescore", "--eval-subset", "40"])
    assert (run / "zoo_run.json").read_bytes() == before
    assert json.loads((run / "eval_main_none.json").read_text())["accuracy"] == single["accuracy"]
    with np.load(run / "scores_main_flip.npz") as saved:
        assert saved["scores"].shape == (40, 7)


def test_archive_refuses_a_run_that_was_never_scored(tmp_path):
    (tmp_path / "metrics.csv").write_text("epoch,val_acc\n1,0.5\n")
    with pytest.raises(SystemExit, match="not a scored zoo run"):
        _tool("zoo_archive").archive_run(tmp_path, tmp_path / "archive")


def test_rescore_refuses_a_run_that_was_never_scored(tmp_path):
    zoo_score = _tool("zoo_score")
    with pytest.raises(SystemExit, match="no scored run to rescore"):
        zoo_score.main([str(tmp_path), "--row", "vgg_fer_rt_fer2013", "--rescore"])


def test_gpu_script_is_valid_bash():
    for script in (ROOT / "lab" / "gpu_zoo.sh", ROOT / "scripts" / "gpu_zoo.sh"):  # the driver and its old path
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script


def test_a_student_row_waits_for_its_teachers_and_gets_their_runs_folder(tmp_path):
    zoo_run = _tool("zoo_run")
    rows = {r["name"]: r for r in zoo_run.load_rows()}
    student = rows["ferresnet_m_distilled_multitask"]
    teacher = rows["resnet18_ferplus_multitask"]
    assert student["after"] == ["resnet18_ferplus_multitask"] and teacher["seeds"] == [0, 1, 2]
    jobs = [zoo_run.Job(teacher, s, tmp_path / f"t{s}") for s in (0, 1)] + [zoo_run.Job(student, 0, tmp_path / "s")]
    assert not zoo_run.ready(jobs[2], jobs[:1], jobs[1:2])  # a teacher still waiting or running
    assert not zoo_run.ready(jobs[2], [], jobs[1:2])
    assert zoo_run.ready(jobs[2], [jobs[2]], []) and zoo_run.ready(jobs[0], jobs, [])
    sets = zoo_run.row_overrides(student, tmp_path)
    assert f"{tmp_path}/resnet18_ferplus_multitask_s2/best_fp16.pt" in sets[0]
    assert "{runs}" not in " ".join(sets) and "best_fer2013_fp16.pt" in sets[1]
    from ferkit.training.config import load_config

    cfg = load_config(ROOT / student["config"], sets)
    assert len(cfg.loss.distill.teachers) == 3 and len(cfg.loss.distill.aux_teachers["fer2013"]) == 3


def _run_folder(tmp_path: Path, metrics: str, config: str) -> Path:
    """A run folder with only metrics.csv and config.yaml (what the epoch columns read)."""
    run = tmp_path / "row_s0"
    run.mkdir()
    (run / "metrics.csv").write_text(metrics)
    (run / "config.yaml").write_text(config)
    return run


def test_a_run_stopped_at_its_budget_is_marked_partial(tmp_path):
    zoo_table = _tool("zoo_table")
    run = _run_folder(tmp_path, "epoch,train_loss,val_acc\n1,1.9,0.30\n2,1.7,0.42\n3,1.6,0.40\n", "epochs: 200\n")
    numbers = zoo_table.epochs(run)
    assert numbers["selected_epoch"] == 2 and numbers["last_epoch"] == 3 and numbers["epochs_planned"] == 200
    assert zoo_table.epoch_text(numbers) == "2/3 of 200, partial"
    (run / "config.yaml").write_text("epochs: 3\n")
    assert zoo_table.epoch_text(zoo_table.epochs(run)) == "2/3"


def test_a_run_finished_by_early_stopping_is_not_partial(tmp_path):
    zoo_table = _tool("zoo_table")
    run = _run_folder(
        tmp_path, "epoch,val_acc\n1,0.30\n2,0.42\n3,0.40\n4,0.41\n", "epochs: 200\nearly_stop_patience: 2\n"
    )
    assert zoo_table.epoch_text(zoo_table.epochs(run)) == "2/4 of 200, early stop (patience 2)"
    (run / "config.yaml").write_text("epochs: 200\nearly_stop_patience: 3\n")  # one epoch short of stopping
    assert zoo_table.epoch_text(zoo_table.epochs(run)) == "2/4 of 200, partial"


def test_rank_verdict_ranks_only_differences_beyond_seed_noise():
    zoo_table = _tool("zoo_table")
    diff, p, verdict = zoo_table.rank_verdict([0.80, 0.81, 0.80], [0.70, 0.71, 0.70])
    assert diff == pytest.approx(0.10) and p < 0.05 and verdict == "higher"
    assert zoo_table.rank_verdict([0.70, 0.71, 0.70], [0.80, 0.81, 0.80])[2] == "lower"
    diff, p, verdict = zoo_table.rank_verdict([0.80, 0.83, 0.78], [0.79, 0.82, 0.80])
    assert p > 0.05 and verdict.startswith("cannot rank: the difference is within")
    assert zoo_table.rank_verdict([0.8], [0.7, 0.71])[1:] == (
        None,
        "cannot rank: needs at least 2 finished seeds per row",
    )


def _fake_scored_run(folder: Path, acc: float, rare_recall: float) -> None:
    folder.mkdir(parents=True)
    per_class = {"neutral": {"recall": 0.9, "support": 1000}, "contempt": {"recall": rare_recall, "support": 13}}
    (folder / "eval_main_none.json").write_text(
        json.dumps({"accuracy": acc, "macro_f1": acc - 0.1, "n": 1013, "per_class": per_class})
    )
    (folder / "zoo_run.json").write_text(json.dumps({"hardware": "test", "wall_seconds": 60, "command": "x"}))


def test_comparison_section_gives_means_and_verdicts(tmp_path):
    zoo_table = _tool("zoo_table")
    rows = {n: {"name": n, "seeds": [0, 1, 2]} for n in ("a", "b", "c")}
    for s, (acc_a, acc_b) in enumerate([(0.80, 0.70), (0.81, 0.71), (0.80, 0.70)]):
        _fake_scored_run(tmp_path / f"a_s{s}", acc_a, 0.3 + 0.01 * s)
        _fake_scored_run(tmp_path / f"b_s{s}", acc_b, 0.31 - 0.01 * s)
    text = "\n".join(zoo_table.comparison_lines({"title": "T", "rows": ["a", "b", "c"]}, tmp_path, rows))
    assert "| a | 3/3 | 80.33 +- 0.58 |" in text and "| c | 0/3 | - |" in text
    assert "s0: 80.00 / 0.700 / 30.0; s1: 81.00 / 0.710 / 31.0; s2: 80.00 / 0.700 / 32.0 |" in text  # per seed
    assert "a vs b: PublicTest accuracy +10.00 points" in text and "higher" in text
    assert "rarest-class recall +1.00 points, p = 0.288: cannot rank" in text
    assert "a vs c: no verdict yet" in text


EARLIER_TABLE = """\
# Model zoo

| row | data | PublicTest acc % | flip TTA % | macro-F1 | rarest-class recall % | params (M) | MMACs | ONNX ms/face | selected/last epoch | last-epoch acc % | published |
|---|---|---|---|---|---|---|---|---|---|---|---|
| lost | fer2013 | 61.00 | 62.00 | 0.600 | 40.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 | 60.00 | 64.81% |
| lost (fer2013 head) | fer2013 | 63.00 | 64.00 | 0.610 | 41.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 | 62.00 | n/a |
| trio (3/3 seeds) | ferplus | 80.00 +- 0.10 | 81.00 +- 0.10 | 0.700 | 10.00 +- 1.00 (contempt) | 1.000 | 10.0 | 0.50 | 1/2; 2/2; 2/2 | 79.00 +- 0.10 | n/a |
| kept | fer2013 | 50.00 | 51.00 | 0.500 | 30.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 | 49.00 | n/a |
| never | fer2013 | no finished run | | | | | | | | | n/a |

## Comparisons

### T

| row | finished seeds | PublicTest acc % |
|---|---|---|
| trio | 3/3 | 80.00 +- 0.10 |

## Runs and sources

- **lost**: CPU x2, 10.0 min wall per run; `ferkit train`.
- **kept**: CPU x2, 5.0 min wall per run; `ferkit train`.
"""


def test_rows_whose_records_were_lost_are_carried_from_the_earlier_table_and_marked(tmp_path):
    zoo_table = _tool("zoo_table")
    zoo_table.EARLIER = tmp_path / "zoo_earlier.md"
    zoo_table.EARLIER.write_text(EARLIER_TABLE)
    earlier = zoo_table.earlier_records()
    assert set(earlier["rows"]) == {"lost", "lost (fer2013 head)", "trio", "kept"}  # "never" has no numbers
    mark = zoo_table.CARRIED
    lost = {"name": "lost", "seeds": [0], "eval": {"dataset": "fer2013", "aux": {"fer2013": {"dataset": "fer2013"}}}}
    lines, notes = zoo_table.row_lines(lost, tmp_path, None, earlier)
    assert lines == [
        f"| lost {mark} | fer2013 | 61.00 | 62.00 | 0.600 | 40.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 "
        "| 60.00 | 64.81% |",
        f"| lost (fer2013 head) {mark} | fer2013 | 63.00 | 64.00 | 0.610 | 41.00 (disgust) | 1.000 | 10.0 "
        "| 0.50 | 9/10 | 62.00 | n/a |",
    ]
    assert notes == [f"- **lost** {mark}: CPU x2, 10.0 min wall per run; `ferkit train`."]
    trio = {"name": "trio", "seeds": [0, 1, 2], "eval": {"dataset": "ferplus"}}
    assert zoo_table.row_lines(trio, tmp_path, None, earlier)[0][0].startswith(
        f"| trio (3/3 seeds) {mark} | ferplus | 80.00"
    )
    never = {"name": "never", "seeds": [0], "eval": {"dataset": "fer2013"}}
    assert "no finished run" in zoo_table.row_lines(never, tmp_path, None, earlier)[0][0]
    # a row with a run of its own is recomputed from it, never carried
    _fake_scored_run(tmp_path / "kept_s0", 0.70, 0.5)
    kept = {"name": "kept", "seeds": [0], "eval": {"dataset": "fer2013"}}
    lines, notes = zoo_table.row_lines(kept, tmp_path, None, earlier)
    assert lines[0].startswith("| kept | fer2013 | 70.00 |") and mark not in lines[0] + notes[0]
    # a comparison none of whose rows has a run keeps the earlier section, said to be carried
    rows = {"trio": trio, "kept": kept}
    text = "\n".join(zoo_table.comparison_lines({"title": "T", "rows": ["trio"]}, tmp_path, rows, earlier))
    assert text.startswith("### T") and f"{mark} Carried unchanged" in text and "| trio | 3/3 | 80.00 +- 0.10 |" in text
    text = "\n".join(zoo_table.comparison_lines({"title": "T", "rows": ["kept", "trio"]}, tmp_path, rows, earlier))
    assert "Carried" not in text and "| kept | 1/1 | 70.00 |" in text
    assert "Carried" not in "\n".join(
        zoo_table.comparison_lines({"title": "U", "rows": ["trio"]}, tmp_path, rows, earlier)
    )


def test_comparison_leaves_out_runs_stopped_at_their_budget(tmp_path):
    zoo_table = _tool("zoo_table")
    rows = {n: {"name": n, "seeds": [0, 1]} for n in ("a", "b")}
    for name in rows:
        for s in (0, 1):
            _fake_scored_run(tmp_path / f"{name}_s{s}", 0.8, 0.3)
            (tmp_path / f"{name}_s{s}" / "metrics.csv").write_text("epoch,val_acc\n1,0.7\n2,0.8\n")
            (tmp_path / f"{name}_s{s}" / "config.yaml").write_text(f"epochs: {2 if s == 0 else 30}\n")
    text = "\n".join(zoo_table.comparison_lines({"title": "T", "rows": ["a", "b"]}, tmp_path, rows))
    assert "| a | 1/2 |" in text and "needs at least 2 finished seeds" in text


def _fake_scores(
    folder: Path, predictions: list[int], hard: list[int], confidence: float, labels=("a", "b", "c"), head: str = "main"
) -> None:
    """A scored run whose saved flip-TTA probabilities (of ``head``) put ``confidence`` on each image's predicted
    column."""
    import numpy as np

    if not (folder / "zoo_run.json").is_file():
        _fake_scored_run(folder, 0.5, 0.5)
    if head != "main":
        import shutil

        shutil.copy(folder / "eval_main_none.json", folder / f"eval_{head}_none.json")
    scores = np.full((len(hard), 3), (1 - confidence) / 2)
    scores[np.arange(len(hard)), predictions] = confidence
    np.savez_compressed(
        folder / f"scores_{head}_flip.npz",
        scores=scores,
        labels=np.array(labels),
        dataset_labels=np.array(["a", "b", "c"]),
        hard=np.array(hard),
    )


def test_ensemble_section_averages_the_saved_probabilities(tmp_path):
    zoo_table = _tool("zoo_table")
    rows = {n: {"name": n, "seeds": [0]} for n in ("x", "y", "z", "w")}
    hard = [2, 1, 2, 0, -1]  # -1: no label in this protocol, left out
    _fake_scores(tmp_path / "x_s0", [0, 1, 0, 1, 0], hard, 0.5)  # predicts a b a b: right once
    _fake_scores(tmp_path / "y_s0", [0, 0, 2, 1, 0], hard, 0.6)  # a a c b: right once
    # z lists its labels as c, a, b: its columns are aligned by name, so it predicts c a c a (right 3 times)
    _fake_scores(tmp_path / "z_s0", [0, 1, 0, 1, 0], hard, 0.8, labels=("c", "a", "b"))
    text = "\n".join(zoo_table.ensemble_lines({"title": "E", "rows": ["x", "y", "z", "w"]}, tmp_path, rows))
    assert "(n=4)" in text
    assert "| x_s0 alone | 25.00 |" in text and "| y_s0 alone | 25.00 |" in text and "| z_s0 alone | 75.00 |" in text
    # mean probabilities, e.g. image 3 (truth a) with all three: a = (.25 + .2 + .8) / 3 beats b = (.5 + .6 + .1) / 3
    assert "| **all 3** | **75.00** |" in text
    assert "| all but x_s0 | 75.00 |" in text and "| all but y_s0 | 75.00 |" in text
    assert "| all but z_s0 | 25.00 |" in text and "w_s0" not in text  # w has no scored run
    one = "\n".join(zoo_table.ensemble_lines({"title": "E", "rows": ["x", "w"]}, tmp_path, rows))
    assert "Needs at least two scored members; has 1." in one


def test_ensemble_member_can_be_an_auxiliary_head(tmp_path):
    """``row:head`` takes that head's saved probabilities (e.g. the fer2013 head of a multi-task student)."""
    zoo_table = _tool("zoo_table")
    rows = {n: {"name": n, "seeds": [0]} for n in ("x", "m")}
    hard = [2, 1, 2, 0]
    _fake_scores(tmp_path / "x_s0", [0, 1, 0, 1], hard, 0.5)  # right once
    _fake_scores(tmp_path / "m_s0", [2, 2, 2, 2], hard, 0.9)  # main head: right twice
    _fake_scores(tmp_path / "m_s0", [2, 1, 2, 0], hard, 0.9, head="aux")  # aux head: right 4 times
    text = "\n".join(zoo_table.ensemble_lines({"title": "E", "rows": ["x", "m:aux"]}, tmp_path, rows))
    assert "| m_s0 (aux head) alone | 100.00 |" in text and "| x_s0 alone | 25.00 |" in text
    assert "| **all 2** | **100.00** |" in text
    main = "\n".join(zoo_table.ensemble_lines({"title": "E", "rows": ["x", "m"]}, tmp_path, rows))
    assert "| m_s0 alone | 50.00 |" in main


def test_zoo_run_skips_finished_scored_runs_and_picks_seeds(tmp_path, capsys):
    zoo_run = _tool("zoo_run")
    run = tmp_path / "row_s0"
    _fake_scored_run(run, 0.8, 0.3)
    (run / "config.yaml").write_text("epochs: 2\n")
    (run / "metrics.csv").write_text("epoch,val_acc\n1,0.7\n2,0.8\n")
    import os
    import time as _time

    later = _time.time() + 5
    os.utime(run / "eval_main_none.json", (later, later))  # scored after its last epoch
    assert zoo_run.finished_and_scored(run)
    row = {"name": "row", "config": "lab/configs/zoo/mini_xception_fer2013.yaml", "seeds": [0, 1]}
    assert zoo_run.run_all([row], tmp_path, 1.0, 1, [], 1, "cpu", seeds=[0]) == []
    assert "row_s0 finished and scored before" in capsys.readouterr().out
    (run / "config.yaml").write_text("epochs: 30\n")  # the same folder stopped at its budget
    assert not zoo_run.finished_and_scored(run)


def test_a_resumed_run_keeps_the_wall_time_of_every_slice(tmp_path):
    zoo_score = _tool("zoo_score")
    path = tmp_path / "zoo_run.json"
    first = zoo_score.with_slices(path, {"wall_seconds": 600.0, "hardware": "cpu", "finished": "d1", "command": "c"})
    path.write_text(json.dumps(first))
    second = zoo_score.with_slices(
        path, {"wall_seconds": 300.0, "hardware": "gpu", "finished": "d2", "command": "c --resume"}
    )
    assert second["wall_seconds"] == 900.0 and [s["hardware"] for s in second["slices"]] == ["cpu", "gpu"]
    path.write_text(json.dumps(second))
    fresh = zoo_score.with_slices(path, {"wall_seconds": 50.0, "hardware": "cpu", "finished": "d3", "command": "c"})
    assert fresh["wall_seconds"] == 50.0 and len(fresh["slices"]) == 1  # no --resume: a new run


def test_a_run_trained_further_after_its_scoring_is_marked(tmp_path):
    import os

    zoo_table = _tool("zoo_table")
    run = tmp_path / "row_s0"
    _fake_scored_run(run, 0.6, 0.2)
    (run / "config.yaml").write_text("epochs: 200\n")
    (run / "metrics.csv").write_text("epoch,val_acc\n1,0.5\n2,0.6\n")
    older = (run / "metrics.csv").stat().st_mtime - 60
    os.utime(run / "eval_main_none.json", (older, older))
    numbers = zoo_table.run_numbers(run)
    assert numbers["stale"] and zoo_table.epoch_text(numbers).endswith("still training; scores are of an earlier slice")


def test_device_bundle_travels_in_parts_and_is_verified_on_arrival(tmp_path):
    """The data does not fit beside the working tree in one device call: it is split into parts that arrive one
    call at a time, and only a complete, unmodified set of parts unpacks."""
    bundle = _tool("device_bundle")
    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for name in bundle.FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(rng.integers(0, 256, 3 * 2**20 if name.endswith(".xz") else 1000, np.uint8).tobytes())
    staged = tmp_path / "here" / ".zoo_data"
    manifest = bundle.stage(data, staged, part_bytes=2**20)
    assert len(manifest["parts"]) == 4 and all((staged / p).stat().st_size <= 2**20 for p in manifest["parts"])

    device, stash, dest = tmp_path / "there" / ".zoo_data", tmp_path / "there" / "stash", tmp_path / "there" / "bundle"
    device.mkdir(parents=True)
    for k, part in enumerate(manifest["parts"][:-1]):  # one call per part: the part and the manifest travel
        for name in (part, "MANIFEST"):
            (device / name).write_bytes((staged / name).read_bytes())
        present, missing = bundle.receive(device, stash)
        assert present == manifest["parts"][: k + 1] and missing == manifest["parts"][k + 1 :]
    with pytest.raises(bundle.BundleError, match="part03 of 4 have not arrived"):
        bundle.assemble(stash, dest)
    assert not dest.exists()
    last = manifest["parts"][-1]
    (device / last).write_bytes((staged / last).read_bytes())
    assert bundle.receive(device, stash)[1] == []
    bundle.assemble(stash, dest)
    for name in bundle.FILES:
        assert (dest / name).read_bytes() == (data / name).read_bytes()

    damaged = bytearray((stash / "part01").read_bytes())
    damaged[100] ^= 1
    (stash / "part01").write_bytes(bytes(damaged))
    with pytest.raises(bundle.BundleError, match="SHA-256"):
        bundle.assemble(stash, tmp_path / "there" / "other")
    (data / "ferplus" / "fer2013new.csv").write_bytes(b"restaged")  # a new staging: the old parts are dropped
    restaged = bundle.stage(data, staged, part_bytes=2**20)
    (device / "MANIFEST").write_bytes((staged / "MANIFEST").read_bytes())
    (device / "part00").write_bytes((staged / "part00").read_bytes())
    assert bundle.receive(device, stash) == (["part00"], restaged["parts"][1:])
    with pytest.raises(bundle.BundleError, match="missing ferplus/fer2013new.csv"):
        (data / "ferplus" / "fer2013new.csv").unlink()
        bundle.stage(data, staged, part_bytes=2**20)


def test_device_bundle_parts_fit_beside_this_working_tree():
    """What gpu_zoo.sh --stage cuts: the parts leave room for the tree under the device tool's per-call limit."""
    bundle = _tool("device_bundle")
    tree = bundle.tree_bytes()
    assert 0 < tree < bundle.LIMIT_MIB * bundle.MIB - bundle.MARGIN_BYTES - bundle.MIB  # >= 1 MiB per part left
