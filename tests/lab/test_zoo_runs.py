"""The model zoo's driver: every config trains one tiny step, zoo_run runs, scores and packs a run (the table
reports it, from its folder or its archived record), a student row waits for its teachers, finished runs are
skipped, resumed runs keep every slice's wall time."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from fake_runs import fake_scored_run
from lab_tools import load_zoo_tool

from ferkit.cli.main import main as cli
from ferkit.training.typed import read_yaml

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "lab" / "configs" / "zoo"
CONFIGS = sorted(p for p in ZOO.glob("*.yaml") if p.name != "zoo.yaml" and not p.name.startswith("_"))  # _base
ROW_CONFIGS = sorted(
    {ROOT / r["config"] for r in yaml.safe_load((ZOO / "zoo.yaml").read_text())["rows"]} | set(CONFIGS)
)


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
    zoo_run, zoo_table = load_zoo_tool("zoo_run"), load_zoo_tool("zoo_table")
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
    kept = load_zoo_tool("zoo_archive").archive_run(run, archive)
    assert not list(kept.glob("*.pt")) and json.loads((kept / "cost.json").read_text())["main"]["params"] > 0
    moved = tmp_path / "moved"
    run.rename(moved)
    zoo_table.main(["--runs-root", str(runs), "--output", str(md), "--archive", str(archive)])
    assert next(row for row in md.read_text().splitlines() if row.startswith("| vgg_fer_rt_fer2013 |")) == line
    moved.rename(run)
    # --rescore: the evaluations again (the probabilities of an older run), the record as it was
    zoo_score = load_zoo_tool("zoo_score")
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
        load_zoo_tool("zoo_archive").archive_run(tmp_path, tmp_path / "archive")


def test_rescore_refuses_a_run_that_was_never_scored(tmp_path):
    zoo_score = load_zoo_tool("zoo_score")
    with pytest.raises(SystemExit, match="no scored run to rescore"):
        zoo_score.main([str(tmp_path), "--row", "vgg_fer_rt_fer2013", "--rescore"])


def test_gpu_script_is_valid_bash():
    for script in (ROOT / "lab" / "gpu_zoo.sh", ROOT / "scripts" / "gpu_zoo.sh"):  # the driver and its old path
        assert subprocess.run(["bash", "-n", str(script)]).returncode == 0, script


def test_a_student_row_waits_for_its_teachers_and_gets_their_runs_folder(tmp_path):
    zoo_run = load_zoo_tool("zoo_run")
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


def test_zoo_run_skips_finished_scored_runs_and_picks_seeds(tmp_path, capsys):
    zoo_run = load_zoo_tool("zoo_run")
    run = tmp_path / "row_s0"
    fake_scored_run(run, 0.8, 0.3)
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
    zoo_score = load_zoo_tool("zoo_score")
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
