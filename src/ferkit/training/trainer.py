"""The training loop: ``train(cfg)`` runs epochs of ``train_one_epoch`` and ``evaluate_split``,
checkpointing atomically after every epoch so a killed run resumes without losing finished work."""
from __future__ import annotations

import copy
import csv
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import yaml
from tqdm import tqdm

from ferkit.data import ArrayDataset, load_dataset
from ferkit.data.subsets import stratified_subset
from ferkit.errors import ConfigError
from ferkit.evaluation.metrics import summary
from ferkit.evaluation.scoring import score_images
from ferkit.io_utils import atomic_write, write_json, write_text
from ferkit.losses import build_loss
from ferkit.models import create_model
from ferkit.models.checkpoint import model_payload
from ferkit.models.weights import freeze, load_pretrained
from ferkit.training import feed
from ferkit.training.config import TrainConfig
from ferkit.training.distributed import DistInfo, barrier, init_distributed, shutdown
from ferkit.training.schedule import lr_factor
from ferkit.transforms.augment import BatchAugment
from ferkit.transforms.preprocess import Preprocess

log = logging.getLogger(__name__)


@dataclass
class TrainState:
    epoch: int = 0                     # epochs completed
    best: dict[str, float] = field(default_factory=dict)  # head name -> best val accuracy
    history: list[dict] = field(default_factory=list)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda requested but no CUDA GPU is available")
    return torch.device(name)


def load_split(cfg: TrainConfig, name: str, split: str, subset: int | None, keep_all: bool = False,
               progress: bool = True) -> ArrayDataset:
    options = {"progress": progress}   # the readers' progress bars follow the trainer's (--no-progress: none)
    if name == "ferplus":
        options["mode"] = cfg.data.mode or "majority"
        if keep_all:
            options["keep_all"] = True
    ds = load_dataset(name, split, cfg.data.data_root, cache=cfg.data.cache, **options)
    index = stratified_subset(ds.hard_labels, subset, cfg.seed)
    return ds.subset(index) if index is not None else ds


class Heads(nn.Module):
    """Auxiliary heads sharing the model's features (multitask training)."""

    def __init__(self, num_features: int, label_sets: dict[str, tuple[str, ...]]):
        super().__init__()
        self.labels = label_sets
        self.heads = nn.ModuleDict({k: nn.Linear(num_features, len(v)) for k, v in label_sets.items()})


class JointNet(nn.Module):
    """Model + auxiliary heads as one module, so DDP sees (and synchronises) every parameter.

    ``with_attention``: call ``model.forward_with_attention`` and hand its attention weights to the loss
    (a loss that declares ``needs_attention``, e.g. region_biased)."""

    def __init__(self, model: nn.Module, aux: Heads, with_attention: bool = False):
        super().__init__()
        self.model, self.aux = model, aux
        self.with_attention = with_attention

    def forward(self, x: torch.Tensor):
        extras = {}
        if self.with_attention:
            logits, feats, extras["attention"] = self.model.forward_with_attention(x)
        else:
            feats = self.model.forward_features(x)
            logits = self.model.forward_head(feats)
        dropped = self.model.drop(feats) if hasattr(self.model, "drop") else feats
        return logits, feats, {k: h(dropped) for k, h in self.aux.heads.items()}, extras


class Trainer:
    def __init__(self, cfg: TrainConfig, resume: bool = False, progress: bool | None = None):
        self.cfg = cfg
        self.out = Path(cfg.out_dir)
        self.device = pick_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device)
        if self.device.type == "cuda" and self.dist.enabled:
            self.device = torch.device("cuda", self.dist.local_rank)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self._setup_data()
        self._setup_model()
        self._setup_optim()
        self.state = TrainState()
        self.augment = BatchAugment(cfg.augment, cfg.data.input_size, cfg.data.source_size, seed=cfg.seed)
        if resume:
            self._resume()

    # ---------------------------------------------------------------- set-up
    def _setup_data(self) -> None:
        cfg = self.cfg
        d = cfg.data
        show = self.progress and self.dist.main
        self.train_set = load_split(cfg, d.dataset, d.train_split, d.train_subset, keep_all=bool(d.aux_heads),
                                    progress=show)
        self.val_sets = {"main": load_split(cfg, d.dataset, d.val_split, d.val_subset, progress=show)}
        self.aux_labels: dict[str, tuple[str, ...]] = {}
        self.aux_targets: dict[str, np.ndarray] = {}
        for name in d.aux_heads:
            if name not in self.train_set.extra:
                raise ConfigError(f"data.aux_heads: dataset {d.dataset!r} carries no {name!r} labels "
                                  f"(available: {', '.join(k for k in self.train_set.extra if k != 'row')})")
            aux_val = load_split(cfg, name, d.val_split, d.val_subset, progress=show)
            self.val_sets[name] = aux_val
            self.aux_labels[name] = aux_val.labels
            self.aux_targets[name] = np.asarray(self.train_set.extra[name], dtype=np.int64)
        hard = self.train_set.hard_labels
        self.train_mask = hard >= 0
        self.class_counts = np.bincount(hard[self.train_mask], minlength=len(self.train_set.labels))
        self.preprocess = Preprocess(source_size=d.source_size, input_size=d.input_size, in_chans=1,
                                     mean=[d.mean], std=[d.std], illumination=d.illumination)
        images = self.train_set.images
        if d.illumination != "none":
            from ferkit.transforms.illumination import normalise_illumination

            images = normalise_illumination(np.asarray(images), d.illumination)
            self.val_sets = {k: _with_images(v, normalise_illumination(np.asarray(v.images), d.illumination))
                             for k, v in self.val_sets.items()}
        self.train_images = torch.from_numpy(np.ascontiguousarray(images))
        t = self.train_set.targets
        self.train_targets = torch.from_numpy(np.asarray(t, np.float32 if t.ndim == 2 else np.int64))

    def _setup_model(self) -> None:
        cfg = self.cfg
        labels = self.train_set.labels
        self.model = create_model(cfg.model.name, num_classes=len(labels), in_chans=1, drop_rate=cfg.model.drop_rate,
                                  **cfg.model.kwargs)
        if cfg.model.pretrained:
            report = load_pretrained(self.model, cfg.model.pretrained)
            log.info("loaded %d tensors from %s", len(report["loaded"]), cfg.model.pretrained)
        freeze(self.model, cfg.model.freeze)
        self.aux = Heads(self.model.num_features, self.aux_labels)
        self.loss = build_loss(cfg.loss.name, num_classes=len(labels), num_features=self.model.num_features,
                               class_counts=self.class_counts, **cfg.loss.params)
        self.model.to(self.device)
        self.aux.to(self.device)
        self.loss.to(self.device)
        self.ema = copy.deepcopy(self.model).eval() if cfg.ema_decay else None
        self.ema_aux = copy.deepcopy(self.aux) if cfg.ema_decay else None
        with_attention = bool(getattr(self.loss, "needs_attention", False))
        if with_attention and not hasattr(self.model, "forward_with_attention"):
            raise ConfigError(f"loss {cfg.loss.name!r} needs attention weights, but model {cfg.model.name!r} has no "
                              "forward_with_attention (use e.g. model.name=ran)")
        self.net = JointNet(self.model, self.aux, with_attention)
        if self.dist.enabled:
            self.net = nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def _setup_optim(self) -> None:
        o = self.cfg.optim
        # (decay?, head?) -> params. Everything but the heads is the backbone; its LR is lr * backbone_lr_mult
        # (fine-tuning a pretrained backbone more gently than a fresh head). At the default multiplier of 1 the
        # groups stay [decay, no_decay], so checkpoints of earlier runs still resume.
        split: dict[tuple[bool, bool], list] = {(d, h): [] for d in (True, False) for h in (True, False)}
        for module, is_head in ((self.model, False), (self.aux, True)):
            for name, p in module.named_parameters():
                if p.requires_grad:
                    head = o.backbone_lr_mult != 1.0 and (is_head or name.startswith("head."))
                    split[(p.ndim > 1, head)].append(p)
        groups = [{"params": split[(d, h)], "weight_decay": o.weight_decay if d else 0.0,
                   "lr": o.lr * (1.0 if h else o.backbone_lr_mult), "lr_mult": 1.0 if h else o.backbone_lr_mult}
                  for d in (True, False) for h in (False, True) if split[(d, h)] or not h]
        loss_params = [p for p in self.loss.parameters() if p.requires_grad]
        if loss_params:  # centres of centre/island/cluster losses: same optimiser step, own LR
            groups.append({"params": loss_params, "weight_decay": 0.0, "lr": o.loss_lr, "fixed_lr": True})
        if o.name == "sgd":
            self.optimizer = torch.optim.SGD(groups, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov)
        elif o.name == "adam":
            self.optimizer = torch.optim.Adam(groups, lr=o.lr)
        else:
            self.optimizer = torch.optim.AdamW(groups, lr=o.lr)
        self.plateau = None
        if self.cfg.schedule.name == "plateau":
            s = self.cfg.schedule
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="max", factor=s.plateau_factor, patience=s.plateau_patience, min_lr=s.min_lr)
        self.steps_per_epoch = max(1, int(self.train_mask.size // self.dist.world) // o.batch_size)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cfg.amp and self.device.type == "cuda")

    # ---------------------------------------------------------------- checkpoints
    def checkpoint_payload(self, ema: bool = False) -> dict:
        model = self.ema if (ema and self.ema is not None) else self.model
        aux = self.ema_aux if (ema and self.ema_aux is not None) else self.aux
        return model_payload(model, self.train_set.labels, self.preprocess,
                             arch_kwargs=dict(self.cfg.model.kwargs), config=self.cfg.to_dict(),
                             aux_heads={k: {"labels": list(self.aux_labels[k]),
                                            "state": {n: t.detach().cpu() for n, t in aux.heads[k].state_dict().items()}}
                                        for k in self.aux_labels},
                             epoch=self.state.epoch)

    def save_last(self) -> None:
        payload = self.checkpoint_payload()
        payload.update({
            "aux_state": self.aux.state_dict(), "loss_state": self.loss.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "plateau": self.plateau.state_dict() if self.plateau else None,
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "ema_aux": self.ema_aux.state_dict() if self.ema_aux is not None else None,
            "augment": self.augment.state_dict(), "torch_rng": torch.get_rng_state(),
            "train_state": {"epoch": self.state.epoch, "best": self.state.best, "history": self.state.history},
        })
        atomic_write(self.out / "last.pt", lambda tmp: torch.save(payload, tmp))

    def _resume(self) -> None:
        path = self.out / "last.pt"
        if not path.is_file():
            log.warning("--resume: no checkpoint at %s, starting fresh", path)
            return
        ck = torch.load(path, map_location=self.device, weights_only=False)
        self.model.load_state_dict(ck["model"])
        self.aux.load_state_dict(ck["aux_state"])
        self.loss.load_state_dict(ck["loss_state"])
        self.optimizer.load_state_dict(ck["optimizer"])
        if self.plateau and ck.get("plateau"):
            self.plateau.load_state_dict(ck["plateau"])
        if self.ema is not None and ck.get("ema"):
            self.ema.load_state_dict(ck["ema"])
            self.ema_aux.load_state_dict(ck["ema_aux"])
        self.augment.load_state_dict(ck["augment"])
        torch.set_rng_state(ck["torch_rng"].cpu())
        ts = ck["train_state"]
        self.state = TrainState(epoch=ts["epoch"], best=ts["best"], history=ts["history"])
        if self.dist.main:
            print(f"resumed from {path} after epoch {self.state.epoch}", file=sys.stderr)

    # ---------------------------------------------------------------- loop
    def _set_lr(self, step: int) -> None:
        if self.plateau is not None and step >= int(self.cfg.schedule.warmup_epochs * self.steps_per_epoch):
            return  # plateau scheduler owns the LR after warm-up
        f = lr_factor(self.cfg.schedule, step, self.steps_per_epoch, self.cfg.epochs, self.cfg.optim.lr)
        for g in self.optimizer.param_groups:
            if not g.get("fixed_lr"):
                g["lr"] = self.cfg.optim.lr * f * g.get("lr_mult", 1.0)

    def train_one_epoch(self, epoch: int) -> dict:
        cfg = self.cfg
        self.net.train()
        self.aux.train()
        weights = None
        labels = self.train_set.hard_labels
        if cfg.data.balanced_sampler:
            weights = feed.balanced_weights(labels, len(self.train_set.labels))
        else:
            weights = self.train_mask.astype(np.float64) if not self.train_mask.all() and not self.aux_labels else None
        order = feed.epoch_order(len(labels), epoch, cfg.seed, weights, self.dist.rank, self.dist.world)
        mask = torch.from_numpy(self.train_mask)
        total_loss, correct, seen, n_batches = 0.0, 0, 0, 0
        bar = tqdm(feed.batches(order, cfg.optim.batch_size), total=len(order) // cfg.optim.batch_size,
                   desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not (self.progress and self.dist.main),
                   leave=False)
        start = last_note = time.time()
        n_total = len(order) // cfg.optim.batch_size
        for i, idx in enumerate(bar):
            step = epoch * self.steps_per_epoch + i
            self._set_lr(step)
            tidx = torch.from_numpy(idx)
            x = self.augment(self.train_images[tidx].float().div_(255.0).unsqueeze(1))
            x = self.preprocess.normalise(x).to(self.device, non_blocking=True)
            y = self.train_targets[tidx].to(self.device)
            m = mask[tidx].to(self.device)
            with torch.autocast(self.device.type, enabled=self.scaler.is_enabled()):
                logits, feats, aux_logits, extras = self.net(x)
                extras = {k: {n: t[m] for n, t in v.items()} for k, v in extras.items()}  # e.g. attention
                # every term is multiplied in (not skipped) so all ranks use every parameter each step
                loss = self.loss(logits[m].float(), y[m], features=feats[m].float(), **extras) if m.any() else \
                    0.0 * logits.sum()
                for name, out in aux_logits.items():
                    t = torch.from_numpy(self.aux_targets[name][idx]).to(self.device)
                    ok = t >= 0
                    if ok.any():
                        loss = loss + cfg.data.aux_weight * nn.functional.cross_entropy(
                            out[ok].float(), t[ok], label_smoothing=cfg.loss.aux_label_smoothing)
                    else:
                        loss = loss + 0.0 * out.sum()
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            if self.ema is not None:
                self._update_ema()
            hard = y if y.ndim == 1 else y.argmax(1)
            correct += int((logits.argmax(1)[m] == hard[m]).sum())
            seen += int(m.sum())
            total_loss += float(loss.detach())
            n_batches += 1
            if not self.progress and self.dist.main and time.time() - last_note > 60:
                last_note = time.time()  # no progress bar (log file): a heartbeat line with rate and ETA
                rate = (i + 1) / (last_note - start)
                print(f"  epoch {epoch + 1} batch {i + 1}/{n_total} loss {total_loss / n_batches:.3f} "
                      f"{rate * cfg.optim.batch_size:.0f} img/s eta {(n_total - i - 1) / rate:.0f}s",
                      file=sys.stderr, flush=True)
            if self.progress and self.dist.main:
                bar.set_postfix(loss=f"{total_loss / n_batches:.3f}", acc=f"{correct / max(seen, 1):.3f}",
                                lr=f"{self.optimizer.param_groups[0]['lr']:.4f}")
        bar.close()
        elapsed = time.time() - start
        return {"train_loss": total_loss / max(n_batches, 1), "train_acc": correct / max(seen, 1),
                "lr": self.optimizer.param_groups[0]["lr"], "train_img_per_s": n_batches * cfg.optim.batch_size / elapsed,
                "epoch_seconds": elapsed}

    @torch.no_grad()
    def _update_ema(self) -> None:
        d = self.cfg.ema_decay
        for ema, live in ((self.ema, self.model), (self.ema_aux, self.aux)):
            for e, p in zip(ema.state_dict().values(), live.state_dict().values()):
                if e.dtype.is_floating_point:
                    e.mul_(d).add_(p.detach(), alpha=1 - d)
                else:
                    e.copy_(p)

    @torch.no_grad()
    def evaluate_split(self, name: str, ema: bool = False) -> dict:
        model = self.ema if (ema and self.ema is not None) else self.model
        aux = self.ema_aux if (ema and self.ema_aux is not None) else self.aux
        model.eval()
        ds = self.val_sets[name]
        head = model.forward_head if name == "main" else aux.heads[name]
        scores = score_images(lambda x: head(model.forward_features(x)), ds.images, self.preprocess,
                              self.cfg.eval_tta, self.device)
        return summary(ds.hard_labels, scores, ds.labels)

    def fit(self) -> TrainState:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        if self.dist.main:
            write_text(self.out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        started = time.time()
        for epoch in range(self.state.epoch, cfg.epochs):
            stats = self.train_one_epoch(epoch)
            self.state.epoch = epoch + 1
            row = {"epoch": epoch + 1, **stats}
            if self.dist.main:
                use_ema = self.ema is not None
                for name in self.val_sets:
                    m = self.evaluate_split(name, ema=use_ema)
                    key = "val" if name == "main" else f"val_{name}"
                    row[f"{key}_acc"], row[f"{key}_macro_f1"] = m["accuracy"], m["macro_f1"]
                    if m["accuracy"] > self.state.best.get(name, -1.0):
                        self.state.best[name] = m["accuracy"]
                        self._save_best(name, m, use_ema)
                self.state.history.append(row)
                self.save_last()
                self._write_history()
                self._log_tensorboard(row)
                print(_format_row(row), file=sys.stderr, flush=True)
            if self.plateau is not None:
                self.plateau.step(row.get("val_acc", 0.0))
            barrier(self.dist)
            if cfg.max_minutes is not None and (time.time() - started) / 60 > cfg.max_minutes:
                if self.dist.main:
                    print(f"stopping after {cfg.max_minutes} min (resume with --resume)", file=sys.stderr)
                break
        if self.dist.main:
            self._plot()
        shutdown(self.dist)
        return self.state

    def _save_best(self, name: str, metrics: dict, ema: bool) -> None:
        payload = self.checkpoint_payload(ema=ema)
        payload["metrics"] = metrics
        if name != "main":  # a stand-alone model for an auxiliary label set: its head becomes the head
            head = payload["aux_heads"][name]
            payload["model"] = {**{k: v for k, v in payload["model"].items() if not k.startswith("head.")},
                                **{f"head.{k}": v for k, v in head["state"].items()}}
            payload["labels"] = head["labels"]
        atomic_write(self.out / ("best.pt" if name == "main" else f"best_{name}.pt"),
                     lambda tmp: torch.save(payload, tmp))
        write_json(self.out / ("best_metrics.json" if name == "main" else f"best_{name}_metrics.json"),
                   {"epoch": self.state.epoch, **metrics})

    def _write_history(self) -> None:
        keys = list(dict.fromkeys(k for row in self.state.history for k in row))

        def write(tmp: str) -> None:
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=keys)
                w.writeheader()
                w.writerows(self.state.history)

        atomic_write(self.out / "metrics.csv", write)

    def _log_tensorboard(self, row: dict) -> None:
        """Scalars to OUT/tensorboard when the tensorboard package is installed (optional)."""
        if not hasattr(self, "_tb"):
            try:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.out / "tensorboard"))
            except Exception:  # tensorboard not installed: CSV + PNG curves only
                self._tb = None
        if self._tb is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, row["epoch"])
            self._tb.flush()

    def _plot(self) -> None:
        try:
            from ferkit.evaluation.plots import plot_history

            plot_history(self.state.history, self.out / "curves.png")
        except Exception as e:  # a plotting problem must not lose a finished run
            log.warning("could not plot training curves: %s", e)


def _with_images(ds: ArrayDataset, images: np.ndarray) -> ArrayDataset:
    return ArrayDataset(images=images, targets=ds.targets, labels=ds.labels, name=ds.name, split=ds.split,
                        extra=ds.extra, info=ds.info)


def _format_row(row: dict) -> str:
    parts = []
    for k, v in row.items():
        parts.append(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


def train(cfg: TrainConfig, resume: bool = False, progress: bool | None = None) -> TrainState:
    return Trainer(cfg, resume=resume, progress=progress).fit()
