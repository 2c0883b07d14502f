"""Training checkpoints: ``last.pt`` (everything a resume needs) and ``best*.pt`` (model files).

Both are plain dicts of tensors, numbers and strings written atomically, and ``last.pt`` is read back with
``weights_only=True``: a resume never runs code from a file. A file that is empty, truncated, from another
architecture or label set, or missing the training state gets a one-line ModelError naming it.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ferkit.errors import ModelError
from ferkit.io_utils import atomic_write, write_json
from ferkit.models.checkpoint import model_payload

if TYPE_CHECKING:
    from ferkit.training.trainer import Trainer

log = logging.getLogger(__name__)
RESUME_KEYS = ("arch", "labels", "model", "aux_state", "loss_state", "optimizer", "augment", "torch_rng",
               "train_state")


def checkpoint_payload(t: Trainer, ema: bool = False) -> dict:
    """A model-file payload (weights, labels, preprocessing, config) of the live or the EMA weights."""
    model = t.ema if (ema and t.ema is not None) else t.model
    aux = t.ema_aux if (ema and t.ema_aux is not None) else t.aux
    heads = {k: {"labels": list(t.aux_labels[k]),
                 "state": {n: v.detach().cpu() for n, v in aux.heads[k].state_dict().items()}} for k in t.aux_labels}
    return model_payload(model, t.train_set.labels, t.preprocess, arch_kwargs=dict(t.cfg.model.kwargs),
                         config=t.cfg.to_dict(), aux_heads=heads, epoch=t.state.epoch)


def _cpu(state: dict) -> dict:
    return {k: (v.detach().cpu() if isinstance(v, torch.Tensor) else v) for k, v in state.items()}


def save_last(t: Trainer) -> None:
    payload = checkpoint_payload(t)
    payload.update({
        "aux_state": _cpu(t.aux.state_dict()), "loss_state": _cpu(t.loss.state_dict()),
        "optimizer": t.optimizer.state_dict(),
        "plateau": t.plateau.state_dict() if t.plateau else None,
        "ema": _cpu(t.ema.state_dict()) if t.ema is not None else None,
        "ema_aux": _cpu(t.ema_aux.state_dict()) if t.ema_aux is not None else None,
        "augment": t.augment.state_dict(), "torch_rng": torch.get_rng_state(),
        # dropout on a GPU draws from the device's generator: saved too, so a resumed GPU run stays exact
        "cuda_rng": torch.cuda.get_rng_state(t.device) if t.device.type == "cuda" else None,
        "train_state": {"epoch": t.state.epoch, "best": t.state.best, "history": t.state.history},
    })
    atomic_write(t.out / "last.pt", lambda tmp: torch.save(payload, tmp))


def read_last(path: Path) -> dict:
    """The dict in ``last.pt``, checked for the keys a resume needs."""
    size = path.stat().st_size
    if size == 0:
        raise ModelError(f"{path}: empty file (0 bytes), not a checkpoint; delete it to start fresh")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for truncated or foreign files
        reason = " ".join(str(e).split())[:200]
        raise ModelError(f"{path}: unreadable checkpoint ({size} bytes; truncated, corrupt or not saved by ferkit: "
                         f"{type(e).__name__}: {reason})") from None
    if not isinstance(ck, dict):
        raise ModelError(f"{path}: not a ferkit training checkpoint (holds a {type(ck).__name__}, not a dict)")
    missing = [k for k in RESUME_KEYS if k not in ck]
    if missing:
        raise ModelError(f"{path}: not a training checkpoint (missing {', '.join(missing)}); "
                         "only last.pt of a ferkit run can be resumed")
    return ck


def _load(what: str, path: Path, fn, state) -> None:
    try:
        fn(state)
    except (RuntimeError, ValueError, KeyError, TypeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{path}: {what} does not match this run ({first[:200]})") from None


def resume(t: Trainer) -> None:
    """Load ``OUT/last.pt`` into the trainer (a fresh start, with a warning, when there is none)."""
    path = t.out / "last.pt"
    if not path.is_file():
        log.warning("--resume: no checkpoint at %s, starting fresh", path)
        return
    ck = read_last(path)
    if ck["arch"] != t.model.arch_name:
        raise ModelError(f"{path}: checkpoint of model {ck['arch']!r}, but the config trains {t.model.arch_name!r}")
    if tuple(ck["labels"]) != tuple(t.train_set.labels):
        raise ModelError(f"{path}: checkpoint labels {list(ck['labels'])} differ from the dataset's "
                         f"{list(t.train_set.labels)}")
    saved_pre = ck.get("preprocess", {})
    for key in ("source_size", "input_size", "in_chans"):
        if key in saved_pre and saved_pre[key] != getattr(t.preprocess, key):
            raise ModelError(f"{path}: checkpoint has {key}={saved_pre[key]} but the config says "
                             f"{getattr(t.preprocess, key)}")
    _load("model weights", path, t.model.load_state_dict, ck["model"])
    _load("auxiliary heads", path, t.aux.load_state_dict, ck["aux_state"])
    _load("loss state", path, t.loss.load_state_dict, ck["loss_state"])
    _load("optimizer state", path, t.optimizer.load_state_dict, ck["optimizer"])
    if t.plateau and ck.get("plateau"):
        _load("plateau scheduler", path, t.plateau.load_state_dict, ck["plateau"])
    if t.ema is not None and ck.get("ema"):
        _load("EMA weights", path, t.ema.load_state_dict, ck["ema"])
        _load("EMA heads", path, t.ema_aux.load_state_dict, ck["ema_aux"])
    _load("augmentation generator (saved on another device type?)", path, t.augment.load_state_dict, ck["augment"])
    torch.set_rng_state(ck["torch_rng"].cpu())
    if t.device.type == "cuda" and ck.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(ck["cuda_rng"].cpu(), t.device)
    ts = ck["train_state"]
    from ferkit.training.trainer import TrainState

    t.state = TrainState(epoch=int(ts["epoch"]), best=dict(ts["best"]), history=list(ts["history"]))
    if t.dist.main:
        print(f"resumed from {path} after epoch {t.state.epoch}", file=sys.stderr)


def save_best(t: Trainer, name: str, metrics: dict, ema: bool) -> None:
    """best.pt (main head) or best_<name>.pt: a stand-alone model whose head is auxiliary head ``name``."""
    payload = checkpoint_payload(t, ema=ema)
    payload["metrics"] = metrics
    if name != "main":
        head = payload["aux_heads"][name]
        payload["model"] = {**{k: v for k, v in payload["model"].items() if not k.startswith("head.")},
                            **{f"head.{k}": v for k, v in head["state"].items()}}
        payload["labels"] = head["labels"]
    atomic_write(t.out / ("best.pt" if name == "main" else f"best_{name}.pt"), lambda tmp: torch.save(payload, tmp))
    write_json(t.out / ("best_metrics.json" if name == "main" else f"best_{name}_metrics.json"),
               {"epoch": t.state.epoch, **metrics})
