"""The training run: ``train(cfg)`` builds the run's parts (``build.build_run``) and ``fit`` runs its epochs
(``loop.train_one_epoch``) and validation, checkpointing atomically after every epoch so a killed run resumes
without losing finished work. ``Trainer`` is the same as an object (Python API, tests, benchmarks)."""

from __future__ import annotations

import sys
import time

import yaml

from ferkit.data import ArrayDataset
from ferkit.io_utils import write_text
from ferkit.training import checkpoints, history, loop
from ferkit.training.build import Run, build_run
from ferkit.training.config import TrainConfig
from ferkit.training.distributed import broadcast_from_main, shutdown
from ferkit.training.state import TrainState
from ferkit.training.validation import evaluate_split


def validate(run: Run, state: TrainState) -> dict:
    """Score every validation split (rank 0), saving best[_<head>].pt on a new best; returns the row's
    val[_<head>]_acc and val[_<head>]_macro_f1."""
    use_ema = run.ema is not None
    row = {}
    for name in run.data.val_sets:
        m = evaluate_split(run, name, ema=use_ema)
        key = "val" if name == "main" else f"val_{name}"
        row[f"{key}_acc"], row[f"{key}_macro_f1"] = m["accuracy"], m["macro_f1"]
        if m["accuracy"] > state.best.get(name, -1.0):
            state.best[name] = m["accuracy"]
            checkpoints.save_best(run, state, name, m, use_ema)
    return row


def fit(run: Run, state: TrainState) -> TrainState:
    """Train ``run`` from ``state`` (a fresh one, or the one ``checkpoints.resume`` read) until its epochs are done,
    early stopping says so, or ``max_minutes`` is spent; returns the final state."""
    cfg, dist = run.cfg, run.dist
    run.out.mkdir(parents=True, exist_ok=True)
    if dist.main:
        write_text(run.out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    tb = history.TensorBoardLog(run.out)
    started = time.time()
    for epoch in range(state.epoch, cfg.epochs):
        if state.stopped_early(cfg.early_stop_patience):
            break
        stats = loop.train_one_epoch(run, epoch)
        state.epoch = epoch + 1
        row = {"epoch": epoch + 1, **stats}
        if dist.main:
            row.update(validate(run, state))
            state.history.append(row)
            checkpoints.save_last(run, state)
            history.write_history(run.out, state.history)
            tb.log(row)
            print(history.format_row(row), file=sys.stderr, flush=True)
        over_time = cfg.max_minutes is not None and (time.time() - started) / 60 > cfg.max_minutes
        # validation runs on rank 0 only: every rank takes these decisions from rank 0's numbers
        val_acc, stop_early, over_time = broadcast_from_main(
            [row.get("val_acc", 0.0), float(state.stopped_early(cfg.early_stop_patience)), float(over_time)],
            dist,
            run.device,
        )
        run.schedule.after_validation(val_acc)
        if stop_early:
            if dist.main:
                print(
                    f"early stop: PublicTest accuracy has not improved for {cfg.early_stop_patience} epochs "
                    f"(best {state.best.get('main', 0):.4f} at epoch {state.best_epoch()}); the run is finished",
                    file=sys.stderr,
                )
            break
        if over_time:
            if dist.main:
                print(f"stopping after {cfg.max_minutes} min (resume with --resume)", file=sys.stderr)
            break
    if dist.main:
        history.plot_curves(state.history, run.out / "curves.png")
    shutdown(dist)
    return state


class Trainer:
    """A built run (``run``) and its progress (``state``): ``Trainer(cfg, resume=True).fit()``.

    The run's parts read through as attributes (``trainer.model``, ``trainer.optimizer``, ``trainer.train_set``,
    ...: see ``build.Run`` and ``train_data.TrainData``). ``datasets``: (train set, {"main": validation set, ...})
    to train on instead of reading cfg.data (benchmarks, tests)."""

    def __init__(
        self,
        cfg: TrainConfig,
        resume: bool = False,
        progress: bool | None = None,
        datasets: tuple[ArrayDataset, dict[str, ArrayDataset]] | None = None,
    ):
        self.run = build_run(cfg, resume=resume, progress=progress, datasets=datasets)
        self.state = checkpoints.resume(self.run) if resume else TrainState()

    def __getattr__(self, name: str):
        if name == "run":  # not built (an exception in __init__): no recursion through the lookups below
            raise AttributeError(name)
        for part in (self.run, self.run.data):
            if hasattr(part, name):
                return getattr(part, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def fit(self) -> TrainState:
        self.state = fit(self.run, self.state)
        return self.state

    def train_one_epoch(self, epoch: int, max_steps: int | None = None) -> dict:
        return loop.train_one_epoch(self.run, epoch, max_steps)

    def evaluate_split(self, name: str, ema: bool = False) -> dict:
        return evaluate_split(self.run, name, ema)

    def set_lr(self, step: int) -> None:
        self.run.schedule.set_lr(self.run.optimizer, step)

    def checkpoint_payload(self, ema: bool = False) -> dict:
        return checkpoints.checkpoint_payload(self.run, self.state.epoch, ema)


def train(cfg: TrainConfig, resume: bool = False, progress: bool | None = None) -> TrainState:
    run = build_run(cfg, resume=resume, progress=progress)
    return fit(run, checkpoints.resume(run) if resume else TrainState())
