"""Training checkpoints: ``last.pt`` (everything a resume needs) and ``best*.pt`` (model files).

Both are plain dicts of tensors, numbers and strings written atomically, and ``last.pt`` is read back with
``weights_only=True``: a resume never runs code from a file. A file that is empty, truncated, from another
architecture or label set, or missing the training state gets a one-line ModelError naming it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch

from ferkit.errors import ModelError
from ferkit.io_utils import atomic_write, write_json
from ferkit.models.checkpoint import model_payload
from ferkit.training.build import Run
from ferkit.training.state import TrainState

log = logging.getLogger(__name__)
RESUME_KEYS = ("arch", "labels", "model", "aux_state", "loss_state", "optimizer", "augment", "torch_rng", "train_state")


def checkpoint_payload(run: Run, epoch: int, ema: bool = False) -> dict:
    """A model-file payload (weights, labels, preprocessing, config) of the live or (``ema``, when the run keeps
    one) the EMA weights after ``epoch`` epochs."""
    averaged = ema and run.ema is not None
    model = run.ema.model if averaged else run.model
    aux = run.ema.aux if averaged else run.aux
    aux_labels = run.data.aux_labels
    heads = {
        k: {"labels": list(aux_labels[k]), "state": {n: v.detach().cpu() for n, v in aux.heads[k].state_dict().items()}}
        for k in aux_labels
    }
    return model_payload(
        model,
        run.data.train_set.labels,
        run.preprocess,
        arch_kwargs=dict(run.cfg.model.kwargs),
        config=run.cfg.to_dict(),
        aux_heads=heads,
        epoch=epoch,
    )


def _cpu(state: dict) -> dict:
    return {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}


def save_last(run: Run, state: TrainState) -> None:
    """``OUT/last.pt``: the live weights plus everything a resume needs (optimiser, schedule, EMA, random
    generators, progress)."""
    plateau = run.schedule.plateau
    payload = checkpoint_payload(run, state.epoch)
    payload.update(
        {
            "aux_state": _cpu(run.aux.state_dict()),
            "loss_state": _cpu(run.loss.state_dict()),
            "optimizer": run.optimizer.state_dict(),
            "plateau": plateau.state_dict() if plateau else None,
            "ema": _cpu(run.ema.model.state_dict()) if run.ema is not None else None,
            "ema_aux": _cpu(run.ema.aux.state_dict()) if run.ema is not None else None,
            "augment": run.augment.state_dict(),
            "torch_rng": torch.get_rng_state(),
            # dropout on a GPU draws from the device's generator: saved too, so a resumed GPU run stays exact
            "cuda_rng": torch.cuda.get_rng_state(run.device) if run.device.type == "cuda" else None,
            "train_state": {"epoch": state.epoch, "best": state.best, "history": state.history},
        }
    )
    atomic_write(run.out / "last.pt", lambda tmp: torch.save(payload, tmp))


def read_last(path: Path) -> dict:
    """The dict in ``last.pt``, checked for the keys a resume needs."""
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path}: empty file (0 bytes), not a checkpoint; delete it to start fresh")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        reason = " ".join(str(e).split())[:200]
        raise ModelError(
            f"{path}: unreadable checkpoint ({size} bytes; truncated, corrupt or not saved by ferkit: "
            f"{type(e).__name__}: {reason})"
        ) from None
    if not isinstance(ck, dict):
        raise ModelError(f"{path}: not a ferkit training checkpoint (holds a {type(ck).__name__}, not a dict)")
    missing = [k for k in RESUME_KEYS if k not in ck]
    if missing:
        raise ModelError(
            f"{path}: not a training checkpoint (missing {', '.join(missing)}); "
            "only last.pt of a ferkit run can be resumed"
        )
    return ck


def _load(what: str, path: Path, fn, state) -> None:
    try:
        fn(state)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{path}: {what} does not match this run ({first[:200]})") from None


def resume(run: Run) -> TrainState:
    """Load ``OUT/last.pt`` into the run's parts and the random generators; returns the saved progress (a fresh
    state, with a warning, when there is no checkpoint)."""
    path = run.out / "last.pt"
    if not path.is_file():
        log.warning("--resume: no checkpoint at %s, starting fresh", path)
        return TrainState()
    ck = read_last(path)
    if ck["arch"] != run.model.arch_name:
        raise ModelError(f"{path}: checkpoint of model {ck['arch']!r}, but the config trains {run.model.arch_name!r}")
    if tuple(ck["labels"]) != tuple(run.data.train_set.labels):
        raise ModelError(
            f"{path}: checkpoint labels {list(ck['labels'])} differ from the dataset's "
            f"{list(run.data.train_set.labels)}"
        )
    saved_pre = ck.get("preprocess", {})
    for key in ("source_size", "input_size", "in_chans"):
        if key in saved_pre and saved_pre[key] != getattr(run.preprocess, key):
            raise ModelError(
                f"{path}: checkpoint has {key}={saved_pre[key]} but the config says {getattr(run.preprocess, key)}"
            )
    _load("model weights", path, run.model.load_state_dict, ck["model"])
    _load("auxiliary heads", path, run.aux.load_state_dict, ck["aux_state"])
    _load("loss state", path, run.loss.load_state_dict, ck["loss_state"])
    _load("optimizer state", path, run.optimizer.load_state_dict, ck["optimizer"])
    if run.schedule.plateau and ck.get("plateau"):
        _load("plateau scheduler", path, run.schedule.plateau.load_state_dict, ck["plateau"])
    if run.ema is not None and ck.get("ema"):
        _load("EMA weights", path, run.ema.model.load_state_dict, ck["ema"])
        _load("EMA heads", path, run.ema.aux.load_state_dict, ck["ema_aux"])
    _load("augmentation generator (saved on another device type?)", path, run.augment.load_state_dict, ck["augment"])
    torch.set_rng_state(ck["torch_rng"].cpu())
    if run.device.type == "cuda" and ck.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(ck["cuda_rng"].cpu(), run.device)
    ts = ck["train_state"]
    state = TrainState(epoch=int(ts["epoch"]), best=dict(ts["best"]), history=list(ts["history"]))
    if run.dist.main:
        print(f"resumed from {path} after epoch {state.epoch}", file=sys.stderr)
    return state


def aux_head_payload(payload: dict, name: str) -> dict:
    """A stand-alone model payload for auxiliary head ``name`` of a multitask payload (its head becomes the head)."""
    head = payload["aux_heads"][name]
    out = dict(payload)
    out["model"] = {
        **{k: v for k, v in payload["model"].items() if not k.startswith("head.")},
        **{f"head.{k}": v for k, v in head["state"].items()},
    }
    out["labels"] = head["labels"]
    return out


def save_best(run: Run, state: TrainState, name: str, metrics: dict, ema: bool) -> None:
    """best.pt (main head) or best_<name>.pt: a stand-alone model whose head is auxiliary head ``name``."""
    payload = checkpoint_payload(run, state.epoch, ema=ema)
    payload["metrics"] = metrics
    if name != "main":
        payload = aux_head_payload(payload, name)
    atomic_write(run.out / ("best.pt" if name == "main" else f"best_{name}.pt"), lambda tmp: torch.save(payload, tmp))
    write_json(
        run.out / ("best_metrics.json" if name == "main" else f"best_{name}_metrics.json"),
        {"epoch": state.epoch, **metrics},
    )
