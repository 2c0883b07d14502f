"""The training run: ``train(cfg)`` sets up data, model and optimiser, then runs epochs of
``loop.train_one_epoch`` and validation, checkpointing atomically after every epoch so a killed run resumes
without losing finished work. The loop, checkpoints, multitask heads and logging live in their own modules."""
from __future__ import annotations

import copy
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import yaml

from ferkit.data import ArrayDataset, load_dataset
from ferkit.data.subsets import stratified_subset
from ferkit.errors import ConfigError
from ferkit.evaluation.metrics import summary
from ferkit.evaluation.scoring import score_images
from ferkit.io_utils import write_text
from ferkit.losses import build_loss
from ferkit.models import create_model
from ferkit.models.weights import check_sha256, freeze, load_head, load_pretrained
from ferkit.training import checkpoints, history, label_modes, loop
from ferkit.training.config import TrainConfig
from ferkit.training.distill import build_teachers, offline_targets
from ferkit.training.distributed import DistInfo, broadcast_from_main, init_distributed, shutdown
from ferkit.training.feed import DeviceFeed
from ferkit.training.heads import Heads, JointNet, TrainStep
from ferkit.training.offline_augment import offline_augmented, online_augment
from ferkit.training.precision import resolve_precision
from ferkit.training.schedule import lr_factor
from ferkit.transforms.augment import BatchAugment
from ferkit.transforms.preprocess import Preprocess, prepare_crops

log = logging.getLogger(__name__)
VIEW_SEED = 7919   # offset of the stored views' generator from the run's seed (the training stream stays its own)


@dataclass
class TrainState:
    epoch: int = 0                     # epochs completed
    best: dict[str, float] = field(default_factory=dict)  # head name -> best val accuracy
    history: list[dict] = field(default_factory=list)

    def best_epoch(self, key: str = "val_acc") -> int | None:
        """The first epoch with the best ``key`` in the history (None before any validation)."""
        rows = [r for r in self.history if key in r]
        return int(max(rows, key=lambda r: r[key])["epoch"]) if rows else None

    def stopped_early(self, patience: int | None) -> bool:
        """True once ``patience`` epochs have passed without a better main validation accuracy (kept in the
        history, so a resumed run that had stopped early stays stopped)."""
        best = self.best_epoch()
        return patience is not None and best is not None and self.epoch - best >= patience

    def finished(self, cfg) -> bool:
        """All planned epochs run, or stopped early by ``cfg.early_stop_patience``; False after a budget stop."""
        return self.epoch >= cfg.epochs or self.stopped_early(cfg.early_stop_patience)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda requested but no CUDA GPU is available")
    return torch.device(name)


def load_split(cfg: TrainConfig, name: str, split: str, subset: int | None, keep_all: bool = False,
               progress: bool = True, mode: str | None = None) -> ArrayDataset:
    """One split at the config's source size and colour under label ``mode`` (default ``data.mode``),
    optionally a stratified subset."""
    mode = mode or cfg.data.mode
    options = {"progress": progress}   # the readers' progress bars follow the trainer's (--no-progress: none)
    if name == "ferplus":
        options["mode"] = mode or "majority"
        if keep_all:
            options["keep_all"] = True
    ds = load_dataset(name, split, cfg.data.data_root, cache=cfg.data.cache, size=cfg.data.source_size,
                      in_chans=cfg.data.in_chans, **options)
    if name == cfg.data.dataset:   # auxiliary label sets keep their own hard labels
        ds = label_modes.apply_mode(ds, mode)
    index = stratified_subset(ds.hard_labels, subset, cfg.seed)
    return ds.subset(index) if index is not None else ds


def preprocess_of(cfg: TrainConfig) -> Preprocess:
    d = cfg.data
    return Preprocess(source_size=d.source_size, input_size=d.input_size, in_chans=d.in_chans,
                      mean=[d.mean] * d.in_chans, std=[d.std] * d.in_chans, illumination=d.illumination)


class Trainer:
    """``datasets``: (train set, {"main": validation set, ...}) to train on instead of reading cfg.data
    (benchmarks, tests)."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, progress: bool | None = None,
                 datasets: tuple[ArrayDataset, dict[str, ArrayDataset]] | None = None):
        self.cfg = cfg
        self.out = Path(cfg.out_dir)
        self.device = pick_device(cfg.device)
        self.dist: DistInfo = init_distributed(self.device)
        if self.device.type == "cuda" and self.dist.enabled:
            self.device = torch.device("cuda", self.dist.local_rank)
        self.precision = resolve_precision(cfg.precision if cfg.amp or cfg.precision != "auto" else "fp32",
                                           self.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.preprocess = preprocess_of(cfg)
        self._resuming = resume and (self.out / "last.pt").is_file()   # its weights replace any pretrained ones
        self._setup_data(datasets)
        self._setup_model()
        self._setup_optim()
        self.state = TrainState()
        self.augment = BatchAugment(online_augment(cfg), cfg.data.input_size, cfg.data.source_size, seed=cfg.seed,
                                    device=self.device)
        self.feed = DeviceFeed(self.train_images, self.train_set.targets, self.device, self.augment,
                               self.preprocess.normalise, mask=self.train_mask, aux=self.aux_targets,
                               channels_last=cfg.channels_last)
        if cfg.data.mode == "draw":   # PLD: each epoch trains on labels drawn from these distributions
            self.feed.set_label_draw(self.train_set.targets, cfg.seed)
        self._score_offline()
        self.tb = history.TensorBoardLog(self.out)
        if resume:
            checkpoints.resume(self)

    # ---------------------------------------------------------------- set-up
    def _setup_data(self, datasets) -> None:
        cfg, d = self.cfg, self.cfg.data
        show = self.progress and self.dist.main
        if datasets is not None:
            self.train_set, self.val_sets = datasets[0], dict(datasets[1])
        else:
            self.train_set = load_split(cfg, d.dataset, d.train_split, d.train_subset, keep_all=bool(d.aux_heads),
                                        progress=show)
            self.val_sets = {"main": load_split(cfg, d.dataset, d.val_split, d.val_subset, progress=show,
                                                mode=label_modes.validation_mode(d.mode))}
        if d.offline_augment.copies:   # K augmented copies of every training image, made once and cached
            self.train_set = offline_augmented(self.train_set, d.offline_augment, cfg.augment, d.cache, show)
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
        for name, ds in {"training": self.train_set, **self.val_sets}.items():
            shape = tuple(ds.images.shape[1:])
            want = (d.source_size, d.source_size) + ((3,) if d.in_chans == 3 else ())
            if shape != want:
                raise ConfigError(f"{name} images are {shape}, but data.source_size={d.source_size} and "
                                  f"data.in_chans={d.in_chans} need {want}")
        hard = self.train_set.hard_labels
        self.train_mask = hard >= 0
        self.class_counts = np.bincount(hard[self.train_mask], minlength=len(self.train_set.labels))
        # illumination is a per-image uint8 operation: applied once to the whole training set, as
        # prepare_crops applies it to every crop at evaluation and inference
        self.train_images = prepare_crops(self.train_set.images, self.preprocess)

    def _setup_model(self) -> None:
        cfg = self.cfg
        labels = self.train_set.labels
        self.model = create_model(cfg.model.name, num_classes=len(labels), in_chans=cfg.data.in_chans,
                                  drop_rate=cfg.model.drop_rate, **cfg.model.kwargs)
        from ferkit import pretrained  # shipped model names (ferplus, fer2013) as well as files

        if cfg.model.pretrained:
            source = pretrained.resolve(cfg.model.pretrained)
            if cfg.model.pretrained_sha256 and not self._resuming:
                check_sha256(source, cfg.model.pretrained_sha256, "model.pretrained")
            report = load_pretrained(self.model, source)
            log.info("loaded %d tensors from %s", len(report["loaded"]), source)
            if cfg.model.pretrained_head:
                load_head(self.model.head, source, labels)
        freeze(self.model, cfg.model.freeze)
        self.aux = Heads(self.model.num_features, self.aux_labels)
        for name, source in cfg.model.aux_pretrained.items():
            if name not in self.aux.heads:
                raise ConfigError(f"model.aux_pretrained: {name!r} is not an auxiliary head "
                                  f"(data.aux_heads: {', '.join(self.aux.heads) or 'none'})")
            load_head(self.aux.heads[name], pretrained.resolve(source), self.aux_labels[name])
        loss_name = label_modes.loss_name(cfg.data.mode, cfg.loss.name)   # data.mode=multi_target: its own loss
        self.loss = build_loss(loss_name, num_classes=len(labels), num_features=self.model.num_features,
                               class_counts=self.class_counts, **cfg.loss.params)
        memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
        for module in (self.model, self.aux, self.loss):
            module.to(self.device, memory_format=memory_format)
        self.ema = copy.deepcopy(self.model).eval() if cfg.ema_decay else None
        self.ema_aux = copy.deepcopy(self.aux) if cfg.ema_decay else None
        if self.ema is not None:   # flat lists once: the per-step EMA is then two fused foreach calls
            pairs = [(e, p) for ema, live in ((self.ema, self.model), (self.ema_aux, self.aux))
                     for e, p in zip(ema.state_dict().values(), live.state_dict().values())]
            self._ema_float = ([e for e, p in pairs if e.dtype.is_floating_point],
                               [p for e, p in pairs if e.dtype.is_floating_point])
            self._ema_other = [(e, p) for e, p in pairs if not e.dtype.is_floating_point]
        with_attention = bool(getattr(self.loss, "needs_attention", False))
        if with_attention and not hasattr(self.model, "forward_with_attention"):
            raise ConfigError(f"loss {cfg.loss.name!r} needs attention weights, but model {cfg.model.name!r} has no "
                              "forward_with_attention (use e.g. model.name=ran)")
        self.net = JointNet(self.model, self.aux, with_attention)
        main_teachers, aux_teachers = build_teachers(cfg.loss.distill, labels, self.aux_labels, self.preprocess,
                                                     self.device, cfg.channels_last)
        self._offline_teachers = {}   # offline distillation: scored once in _score_offline, then dropped
        if cfg.loss.distill.offline:
            self._offline_teachers = {h: t for h, t in {"main": main_teachers, **aux_teachers}.items() if t}
            main_teachers, aux_teachers = None, {}
        self.step_module: nn.Module = TrainStep(self.net, self.loss, cfg.data.aux_weight, cfg.loss.aux_label_smoothing,
                                                main_teachers, cfg.loss.distill.weight, aux_teachers,
                                                cfg.loss.distill.temperature)
        if self.dist.enabled:  # the loss is inside: its centres are synchronised like every other parameter
            self.step_module = nn.parallel.DistributedDataParallel(
                self.step_module, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        self.step_forward = torch.compile(self.step_module) if cfg.compile else self.step_module

    def _score_offline(self) -> None:
        """Offline distillation: the teachers' soft targets of every training image, into the feed (read from
        OUT/teacher_targets.pt when it holds them); the teachers are not needed after that."""
        if not self._offline_teachers:
            return
        labels = {"main": self.train_set.labels, **self.aux_labels}
        show = self.progress and self.dist.main
        views = None
        if self.cfg.loss.distill.views:
            views = self._augmented_views(self.cfg.loss.distill.views, show)
            self.feed.set_views(views)
        targets = offline_targets(self.out / "teacher_targets.pt", self._offline_teachers, labels, self.feed.images,
                                  self.preprocess, self.device, self.precision, progress=show, views=views)
        self.feed.set_soft_targets(targets)
        self._offline_teachers = {}

    def _augmented_views(self, k: int, show: bool) -> torch.Tensor:
        """K augmented views of every training image for offline distillation, drawn with the run's augmentation
        from a generator of their own (seeded by the run's seed), so --resume draws the same views again."""
        from tqdm import tqdm

        from ferkit.training.distill import augmented_views

        d = self.cfg.data
        augment = BatchAugment(self.cfg.augment, d.input_size, d.source_size, seed=self.cfg.seed + VIEW_SEED,
                               device=self.feed.images.device)
        log.info("offline distillation: drawing %d augmented views of %d training images", k, len(self.feed))
        with tqdm(total=k * len(self.feed), desc="views", unit="img", disable=not show, leave=False) as bar:
            return augmented_views(self.feed.images, augment, k, progress=bar.update)

    def _setup_optim(self) -> None:
        o = self.cfg.optim
        base_lr = self.cfg.lr
        # (decay?, head?) -> params. Everything but the heads is the backbone; its LR is lr * backbone_lr_mult
        # (fine-tuning a pretrained backbone more gently than a fresh head). At the default multiplier of 1 the
        # groups stay [decay, no_decay], so checkpoints of earlier runs still resume.
        # A model may name more fresh, head-like parameters (``head_prefixes``, e.g. a RAN's attention units).
        split: dict[tuple[bool, bool], list] = {(d, h): [] for d in (True, False) for h in (True, False)}
        head_prefixes = tuple(getattr(self.model, "head_prefixes", ("head.",)))
        for module, is_head in ((self.model, False), (self.aux, True)):
            for name, p in module.named_parameters():
                if p.requires_grad:
                    head = o.backbone_lr_mult != 1.0 and (is_head or name.startswith(head_prefixes))
                    split[(p.ndim > 1, head)].append(p)
        groups = [{"params": split[(d, h)], "weight_decay": o.weight_decay if d else 0.0,
                   "lr": base_lr * (1.0 if h else o.backbone_lr_mult), "lr_mult": 1.0 if h else o.backbone_lr_mult}
                  for d in (True, False) for h in (False, True) if split[(d, h)] or not h]
        loss_params = [p for p in self.loss.parameters() if p.requires_grad]
        if loss_params:  # centres of centre/island/cluster losses: same optimiser step, own LR
            groups.append({"params": loss_params, "weight_decay": 0.0, "lr": o.loss_lr, "fixed_lr": True})
        # foreach: one fused kernel per parameter list instead of a Python loop over tensors (CPU and GPU)
        if o.name == "sgd":
            self.optimizer = torch.optim.SGD(groups, lr=base_lr, momentum=o.momentum, nesterov=o.nesterov,
                                             foreach=True)
        elif o.name == "adam":
            self.optimizer = torch.optim.Adam(groups, lr=base_lr, foreach=True)
        else:
            self.optimizer = torch.optim.AdamW(groups, lr=base_lr, foreach=True)
        self.plateau = None
        if self.cfg.schedule.name == "plateau":
            s = self.cfg.schedule
            self.plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, mode="max", factor=s.plateau_factor, patience=s.plateau_patience, min_lr=s.min_lr)
        self.steps_per_epoch = max(1, int(self.train_mask.size // self.dist.world) // o.batch_size)

    # ---------------------------------------------------------------- steps
    def set_lr(self, step: int) -> None:
        if self.plateau is not None and step >= int(self.cfg.schedule.warmup_epochs * self.steps_per_epoch):
            return  # plateau scheduler owns the LR after warm-up
        base = self.cfg.lr
        f = lr_factor(self.cfg.schedule, step, self.steps_per_epoch, self.cfg.epochs, base)
        for g in self.optimizer.param_groups:
            if not g.get("fixed_lr"):
                g["lr"] = base * f * g.get("lr_mult", 1.0)

    _set_lr = set_lr   # the earlier private name (tests, scripts)

    @torch.no_grad()
    def update_ema(self) -> None:
        ema, live = self._ema_float
        torch._foreach_lerp_(ema, live, 1.0 - self.cfg.ema_decay)
        for e, p in self._ema_other:
            e.copy_(p)

    def train_one_epoch(self, epoch: int, max_steps: int | None = None) -> dict:
        return loop.train_one_epoch(self, epoch, max_steps)

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

    # ---------------------------------------------------------------- checkpoints (see checkpoints.py)
    def checkpoint_payload(self, ema: bool = False) -> dict:
        return checkpoints.checkpoint_payload(self, ema)

    def save_last(self) -> None:
        checkpoints.save_last(self)

    # ---------------------------------------------------------------- run
    def fit(self) -> TrainState:
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        if self.dist.main:
            write_text(self.out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        started = time.time()
        for epoch in range(self.state.epoch, cfg.epochs):
            if self.state.stopped_early(cfg.early_stop_patience):
                break
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
                        checkpoints.save_best(self, name, m, use_ema)
                self.state.history.append(row)
                checkpoints.save_last(self)
                history.write_history(self.out, self.state.history)
                self.tb.log(row)
                print(history.format_row(row), file=sys.stderr, flush=True)
            over_time = cfg.max_minutes is not None and (time.time() - started) / 60 > cfg.max_minutes
            # validation runs on rank 0 only: every rank takes these decisions from rank 0's numbers
            val_acc, stop_early, over_time = broadcast_from_main(
                [row.get("val_acc", 0.0), float(self.state.stopped_early(cfg.early_stop_patience)), float(over_time)],
                self.dist, self.device)
            if self.plateau is not None:
                self.plateau.step(val_acc)
            if stop_early:
                if self.dist.main:
                    best = self.state.best_epoch()
                    print(f"early stop: PublicTest accuracy has not improved for {cfg.early_stop_patience} epochs "
                          f"(best {self.state.best.get('main', 0):.4f} at epoch {best}); the run is finished",
                          file=sys.stderr)
                break
            if over_time:
                if self.dist.main:
                    print(f"stopping after {cfg.max_minutes} min (resume with --resume)", file=sys.stderr)
                break
        if self.dist.main:
            history.plot_curves(self.state.history, self.out / "curves.png")
        shutdown(self.dist)
        return self.state


def train(cfg: TrainConfig, resume: bool = False, progress: bool | None = None) -> TrainState:
    return Trainer(cfg, resume=resume, progress=progress).fit()
