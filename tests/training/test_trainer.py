"""Real-data training runs on small FER2013/FERPlus subsets (seconds each)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from run_configs import small_config

from ferkit.cli.main import main as cli
from ferkit.models.checkpoint import load_model
from ferkit.training.config import load_config
from ferkit.training.trainer import Trainer, train

pytestmark = pytest.mark.realdata


def test_short_run_loss_falls_and_evaluate_agrees(data_root, cache_dir, tmp_path, capsys):
    cfg = small_config(data_root, cache_dir, tmp_path / "run", "epochs=4", "augment.erase=0", "augment.rotate=0")
    state = train(cfg, progress=False)
    losses = [row["train_loss"] for row in state.history]
    assert losses[-1] < losses[0], losses
    for name in ("last.pt", "best.pt", "metrics.csv", "config.yaml", "curves.png", "best_metrics.json"):
        assert (tmp_path / "run" / name).is_file(), name
    best = json.loads((tmp_path / "run" / "best_metrics.json").read_text())
    out_json = tmp_path / "eval.json"
    code = cli(
        [
            "evaluate",
            "--model",
            str(tmp_path / "run" / "best.pt"),
            "--dataset",
            "fer2013",
            "--data-root",
            str(data_root),
            "--split",
            "PublicTest",
            "--subset",
            "320",
            "--json",
            str(out_json),
            "--plot",
            str(tmp_path / "cm.png"),
        ]
    )
    assert code == 0
    result = json.loads(out_json.read_text())
    assert result["n"] == 320 and len(result["labels"]) == 7
    # the CLI evaluates the same stratified subset the trainer validated on: numbers must agree
    assert result["accuracy"] == pytest.approx(best["accuracy"], abs=1e-9)
    assert (tmp_path / "cm.png").stat().st_size > 1000
    assert "accuracy" in capsys.readouterr().out


def test_resume_reproduces_uninterrupted_run(data_root, cache_dir, tmp_path):
    torch.use_deterministic_algorithms(True)
    try:
        full = Trainer(small_config(data_root, cache_dir, tmp_path / "a", "epochs=2", "threads=1"), progress=False)
        full.fit()
        first = Trainer(
            small_config(data_root, cache_dir, tmp_path / "b", "epochs=2", "threads=1", "max_minutes=0"), progress=False
        )
        first.fit()  # stops after epoch 1 (max_minutes=0)
        assert torch.load(tmp_path / "b" / "last.pt", weights_only=False)["epoch"] == 1
        second = Trainer(
            small_config(data_root, cache_dir, tmp_path / "b", "epochs=2", "threads=1"), resume=True, progress=False
        )
        assert second.state.epoch == 1
        second.fit()
    finally:
        torch.use_deterministic_algorithms(False)
    a = torch.load(tmp_path / "a" / "last.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "last.pt", weights_only=False)
    assert [r["epoch"] for r in b["train_state"]["history"]] == [1, 2]
    for k in a["model"]:
        assert torch.allclose(a["model"][k].float(), b["model"][k].float(), atol=1e-5), k


def test_kill_mid_epoch_loses_no_finished_epoch(data_root, cache_dir, tmp_path):
    out = tmp_path / "run"
    run = [
        f"out_dir={out}",
        f"data.data_root={data_root}",
        f"data.cache={cache_dir}",
        "model.name=ferresnet_s",
        "data.train_subset=2400",
        "data.val_subset=100",
        "optim.batch_size=32",
        "epochs=5",
    ]
    args = [sys.executable, "-m", "ferkit.cli.main", "train", "--no-progress", *run, "threads=1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    last = out / "last.pt"
    while not last.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert last.exists(), proc.stdout.read().decode()[-2000:] if proc.poll() is not None else "no checkpoint in time"
    time.sleep(1.0)  # now inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ck = load_model(last)  # the checkpoint on disk is complete and loadable
    epoch_done = ck.meta["epoch"]
    assert epoch_done >= 1
    resumed = Trainer(load_config(None, [*run, "threads=2", "max_minutes=0"]), resume=True, progress=False)
    assert resumed.state.epoch == epoch_done
    resumed.fit()
    history = resumed.state.history
    assert [r["epoch"] for r in history] == list(range(1, epoch_done + 2))


def test_multitask_heads_and_standalone_aux_model(data_root, cache_dir, tmp_path):
    cfg = small_config(
        data_root,
        cache_dir,
        tmp_path / "mt",
        "epochs=1",
        "data.dataset=ferplus",
        "data.mode=probability",
        "data.aux_heads=[fer2013]",
        "ema_decay=0.9",
    )
    state = train(cfg, progress=False)
    assert set(state.best) == {"main", "fer2013"}
    main = load_model(tmp_path / "mt" / "best.pt")
    aux = load_model(tmp_path / "mt" / "best_fer2013.pt")
    assert main.labels[0] == "neutral" and len(main.labels) == 8
    assert aux.labels[0] == "anger" and len(aux.labels) == 7
    x = torch.randn(2, 1, 40, 40)
    assert aux.model(x).shape == (2, 7)


def test_distributed_two_cpu_processes_stay_in_sync(data_root, cache_dir, tmp_path):
    """Two gloo ranks with a centre loss: weights and learned centres stay identical, and both ranks report the
    same epoch metrics (reduced over ranks)."""
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    common = [
        f"data.data_root={data_root}",
        f"data.cache={cache_dir}",
        "model.name=ferresnet_s",
        "data.train_subset=256",
        "data.val_subset=64",
        "loss.name=center",
        "loss.params={lambda_center: 0.1}",
    ]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29517",
        str(worker),
        str(tmp_path),
        *common,
        "optim.batch_size=32",
        "epochs=2",
        "threads=1",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    init = Trainer(load_config(None, [*common, f"out_dir={tmp_path / 'x'}"]), progress=False)
    init_params = {k: v.detach() for k, v in init.model.named_parameters()}
    changed = False
    for k in r0["params"]:
        assert torch.allclose(r0["params"][k].float(), r1["params"][k].float(), atol=1e-6), k  # replicas identical
        changed |= not torch.equal(r0["params"][k], init_params[k])
    assert changed  # and they did train
    centres0, centres1 = r0["loss"]["centres"], r1["loss"]["centres"]
    assert torch.allclose(centres0, centres1, atol=1e-6), (centres0 - centres1).abs().max()
    assert not torch.equal(centres0, init.loss.centres.detach())  # centres moved
    assert r0["metrics"] == r1["metrics"]  # reduced over ranks


def test_no_progress_reaches_the_dataset_readers(data_root, tmp_path, monkeypatch):
    """--no-progress (progress=False) silences the readers' progress bars too, not only the epoch bar."""
    import ferkit.training.train_data as train_data

    seen = []
    real = train_data.load_dataset

    def spy(name, split, data_root=None, **options):
        seen.append((name, split, options.get("progress")))
        return real(name, split, data_root, **options)

    monkeypatch.setattr(train_data, "load_dataset", spy)
    cfg = load_config(
        None,
        [
            f"data.data_root={data_root}",
            f"data.cache={tmp_path / 'cache'}",
            f"out_dir={tmp_path / 'run'}",
            "data.dataset=ferplus",
            "data.aux_heads=[fer2013]",
            "data.train_subset=64",
            "data.val_subset=32",
            "model.name=ferresnet_s",
        ],
    )
    Trainer(cfg, progress=False)
    assert [s[:2] for s in seen] == [("ferplus", "Training"), ("ferplus", "PublicTest"), ("fer2013", "PublicTest")]
    assert all(progress is False for *_, progress in seen)


def test_early_stopping_finishes_the_run_and_stays_finished_on_resume(
    data_root, cache_dir, tmp_path, capsys, monkeypatch
):
    import ferkit.training.trainer as trainer_module

    scripted = iter([0.30, 0.42, 0.40, 0.41, 0.45, 0.44])  # best at epoch 2, then 2 epochs without a better one
    real = trainer_module.evaluate_split
    monkeypatch.setattr(
        trainer_module,
        "evaluate_split",
        lambda run, name, ema=False: {**real(run, name, ema), "accuracy": next(scripted)},
    )

    def fit(resume: bool) -> Trainer:
        t = Trainer(
            small_config(
                data_root,
                cache_dir,
                tmp_path / "es",
                "epochs=10",
                "early_stop_patience=2",
                "data.train_subset=64",
                "data.val_subset=64",
                "threads=1",
            ),
            resume=resume,
            progress=False,
        )
        t.fit()
        return t

    first = fit(resume=False)
    assert [r["epoch"] for r in first.state.history] == [1, 2, 3, 4]
    assert first.state.best_epoch() == 2 and first.state.finished(first.cfg)
    assert "early stop" in capsys.readouterr().err
    again = fit(resume=True)  # a finished run trains no further epoch
    assert again.state.epoch == 4 and next(scripted) == 0.45
    with pytest.raises(Exception, match="early_stop_patience"):
        load_config(None, ["early_stop_patience=0"])


def test_pretrained_weights_are_checked_against_the_configured_sha256(data_root, cache_dir, tmp_path):
    import hashlib

    from ferkit.errors import ConfigError, ModelError

    weights = Path(__file__).resolve().parents[2] / "src" / "ferkit" / "pretrained" / "fer2013.pt"
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    extra = (
        "model.name=ferresnet_m",
        f"model.pretrained={weights}",
        "epochs=1",
        "data.train_subset=64",
        "data.val_subset=64",
        "threads=1",
    )
    Trainer(
        small_config(data_root, cache_dir, tmp_path / "ok", *extra, f"model.pretrained_sha256={digest[:12]}"),
        progress=False,
    )
    with pytest.raises(ModelError, match="other weights than the ones this config's runs started from"):
        Trainer(
            small_config(data_root, cache_dir, tmp_path / "bad", *extra, "model.pretrained_sha256=abcdef012345"),
            progress=False,
        )
    with pytest.raises(ConfigError, match="at least 12 hex digits"):
        small_config(data_root, cache_dir, tmp_path / "x", *extra, "model.pretrained_sha256=abc")


def test_distributed_ranks_take_plateau_and_early_stop_decisions_from_rank_0(data_root, cache_dir, tmp_path):
    """Validation runs on rank 0 only; the plateau LR, early stopping and the time budget must still act on every
    rank alike (else the LRs drift apart, or one rank leaves the loop and the other waits forever)."""
    worker = Path(__file__).with_name("ddp_worker.py")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29519",
        str(worker),
        str(tmp_path),
        "--fit",
        f"data.data_root={data_root}",
        f"data.cache={cache_dir}",
        "model.name=ferresnet_s",
        "data.train_subset=128",
        "data.val_subset=64",
        "optim.batch_size=32",
        "epochs=6",
        "threads=1",
        "schedule.name=plateau",
        "schedule.plateau_patience=0",
        "schedule.warmup_epochs=0",
        "early_stop_patience=2",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    r0, r1 = torch.load(tmp_path / "fit_rank0.pt"), torch.load(tmp_path / "fit_rank1.pt")
    assert r0["epochs"] == r1["epochs"] and r0["lr"] == r1["lr"]
