"""One training run to one final model file, as experiment scripts need it.

``final.pt`` holds the weights after the last epoch (the EMA weights when ``ema_decay`` is set), not the epoch
that scored best on the validation split: when the validation split is also the reported one (PublicTest, a CV
test fold), picking the best epoch on it would flatter every method.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from pathlib import Path

import torch

from ferkit.io_utils import atomic_write, write_json
from ferkit.training import checkpoints
from ferkit.training.build import build_run
from ferkit.training.config import TrainConfig
from ferkit.training.state import TrainState
from ferkit.training.trainer import fit

log = logging.getLogger(__name__)
FINAL = "final.pt"


def train_to_final(
    cfg: TrainConfig,
    init_state: dict[str, torch.Tensor] | None = None,
    progress: bool | None = False,
    retrain: bool = False,
) -> Path:
    """Train ``cfg`` (resuming an interrupted run) and write ``out_dir/final.pt``; a finished run is reused.

    init_state: a full state_dict (head included) copied into the model (and its EMA) before training, for
    chained fine-tuning stages on the same label set.
    """
    out = Path(cfg.out_dir)
    final = out / FINAL
    if final.is_file() and not retrain:
        log.info("reusing %s", final)
        return final
    resume = (out / "last.pt").is_file() and not retrain
    run = build_run(cfg, resume=resume, progress=progress)
    state = checkpoints.resume(run) if resume else TrainState()
    if init_state is not None and state.epoch == 0:
        run.model.load_state_dict(init_state)
        if run.ema is not None:
            run.ema.model.load_state_dict(init_state)
    state = fit(run, state)
    if not state.finished(cfg):  # stopped by max_minutes: not a finished run
        raise RuntimeError(f"{cfg.out_dir}: stopped after {state.epoch}/{cfg.epochs} epochs; run again to resume")
    payload = checkpoints.checkpoint_payload(run, state.epoch, ema=run.ema is not None)
    payload["history"] = state.history
    atomic_write(final, lambda tmp: torch.save(payload, tmp))
    return final


def run_key(cfg: TrainConfig) -> str:
    """Hash of the resolved config without its output folder: equal keys train identically."""
    d = cfg.to_dict()
    d.pop("out_dir")
    return hashlib.sha1(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


def shared_run_dir(config: Path, cfg: TrainConfig, out_root: Path) -> Path:
    """``out_root/<folder>_<config stem>`` for a new training; the existing folder when an identical training
    (same run_key, e.g. a baseline listed in several result tables) was set up before (``out_root/index.json``)."""
    index_path = out_root / "index.json"
    out_root.mkdir(parents=True, exist_ok=True)
    key = run_key(cfg)
    with open(out_root / ".index.lock", "w") as lock:  # result scripts may run side by side on one out_root
        fcntl.flock(lock, fcntl.LOCK_EX)
        index = json.loads(index_path.read_text()) if index_path.is_file() else {}
        if key not in index:
            name = out_root / f"{config.parent.name}_{config.stem}"
            if str(name) in index.values():  # same config file, other settings (overrides): never reuse its run
                name = name.with_name(f"{name.name}-{key}")
            index[key] = str(name)
            write_json(index_path, index)
    return Path(index[key])
