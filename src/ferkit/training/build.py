"""A training run's parts, built once from its config: ``build_run(cfg)`` returns a ``Run`` holding the device,
the data, the model with its auxiliary heads, loss and EMA, the step module, the optimiser and LR schedule, and
the device feed. The epoch loop (``loop.py``), the checkpoints (``checkpoints.py``) and ``trainer.fit`` take a
``Run`` as their argument; nothing here imports them.

Everything is built in a fixed order after ``torch.manual_seed(cfg.seed)``, so a run's initial weights (and the
draws every later part makes) are a function of its config.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from ferkit import pretrained
from ferkit.data import ArrayDataset
from ferkit.errors import ConfigError
from ferkit.losses import build_loss
from ferkit.models import create_model
from ferkit.models.weights import check_sha256, freeze, load_head, load_pretrained
from ferkit.training import label_modes
from ferkit.training.config import TrainConfig
from ferkit.training.distill import build_teachers
from ferkit.training.distributed import DistInfo, init_distributed
from ferkit.training.ema import EMA
from ferkit.training.feed import DeviceFeed
from ferkit.training.heads import Heads, JointNet, TrainStep
from ferkit.training.offline_augment import online_augment
from ferkit.training.optim import LRSchedule, build_optimizer, build_schedule
from ferkit.training.precision import resolve_precision
from ferkit.training.teacher_targets import feed_offline_targets
from ferkit.training.train_data import TrainData, load_train_data, preprocess_of
from ferkit.transforms.augment import BatchAugment
from ferkit.transforms.preprocess import Preprocess

log = logging.getLogger(__name__)


@dataclass
class Run:
    """The parts of one training run (see ``build_run``)."""

    cfg: TrainConfig
    out: Path  # the run's folder (last.pt, best.pt, metrics.csv, ...)
    device: torch.device
    dist: DistInfo  # this process's rank under torchrun (rank 0 of 1 without)
    precision: str  # resolved: "fp32" or "bf16"
    progress: bool  # progress bars (shown by rank 0 only)
    preprocess: Preprocess  # the crops -> tensor contract saved with every checkpoint
    data: TrainData
    model: nn.Module
    aux: Heads  # auxiliary (multitask) heads on the model's features
    loss: nn.Module  # the main loss (its centres, if any, are trained too)
    ema: EMA | None  # the averaged weights (ema_decay), or None
    net: JointNet  # model + auxiliary heads as one module
    step_module: nn.Module  # TrainStep: forward pass and total loss (DDP-wrapped under torchrun)
    step_forward: Callable  # step_module, compiled with cfg.compile
    optimizer: torch.optim.Optimizer
    schedule: LRSchedule
    augment: BatchAugment  # the training augmentation (its generator lives on the device)
    feed: DeviceFeed  # the training set on the device: batches, targets, offline soft targets

    @property
    def show(self) -> bool:
        """Whether this process draws progress bars."""
        return self.progress and self.dist.main


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda requested but no CUDA GPU is available")
    return torch.device(name)


def build_model(cfg: TrainConfig, data: TrainData, resuming: bool) -> tuple[nn.Module, Heads, nn.Module]:
    """The model (from its pretrained weights, frozen prefixes applied), the auxiliary heads and the loss.
    ``resuming``: the run's last.pt replaces the weights, so the pretrained file's digest is not checked."""
    labels = data.train_set.labels
    model = create_model(
        cfg.model.name,
        num_classes=len(labels),
        in_chans=cfg.data.in_chans,
        drop_rate=cfg.model.drop_rate,
        **cfg.model.kwargs,
    )
    if cfg.model.pretrained:
        source = pretrained.resolve(cfg.model.pretrained)
        if cfg.model.pretrained_sha256 and not resuming:
            check_sha256(source, cfg.model.pretrained_sha256, "model.pretrained")
        report = load_pretrained(model, source)
        log.info("loaded %d tensors from %s", len(report["loaded"]), source)
        if cfg.model.pretrained_head:
            load_head(model.head, source, labels)
    freeze(model, cfg.model.freeze)
    aux = Heads(model.num_features, data.aux_labels)
    for name, source in cfg.model.aux_pretrained.items():
        if name not in aux.heads:
            raise ConfigError(
                f"model.aux_pretrained: {name!r} is not an auxiliary head "
                f"(data.aux_heads: {', '.join(aux.heads) or 'none'})"
            )
        load_head(aux.heads[name], pretrained.resolve(source), data.aux_labels[name])
    loss_name = label_modes.loss_name(cfg.data.mode, cfg.loss.name)  # data.mode=multi_target: its own loss
    loss = build_loss(
        loss_name,
        num_classes=len(labels),
        num_features=model.num_features,
        class_counts=data.class_counts,
        **cfg.loss.params,
    )
    return model, aux, loss


def needs_attention(cfg: TrainConfig, model: nn.Module, loss: nn.Module) -> bool:
    """Whether the loss takes the model's attention weights (checked: the model must provide them)."""
    with_attention = bool(getattr(loss, "needs_attention", False))
    if with_attention and not hasattr(model, "forward_with_attention"):
        raise ConfigError(
            f"loss {cfg.loss.name!r} needs attention weights, but model {cfg.model.name!r} has no "
            "forward_with_attention (use e.g. model.name=ran)"
        )
    return with_attention


def build_run(
    cfg: TrainConfig,
    resume: bool = False,
    progress: bool | None = None,
    datasets: tuple[ArrayDataset, dict[str, ArrayDataset]] | None = None,
) -> Run:
    """Every part of the run ``cfg`` describes, with fresh weights (``checkpoints.resume`` loads a saved state).

    ``resume``: the run will continue from OUT/last.pt where there is one. ``progress``: progress bars (default:
    when stderr is a terminal). ``datasets``: (train set, {"main": validation set, ...}) to train on instead of
    reading ``cfg.data`` (benchmarks, tests)."""
    device = pick_device(cfg.device)
    dist = init_distributed(device)
    if device.type == "cuda" and dist.enabled:
        device = torch.device("cuda", dist.local_rank)
    precision = resolve_precision(cfg.precision if cfg.amp or cfg.precision != "auto" else "fp32", device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    progress = sys.stderr.isatty() if progress is None else progress
    show = progress and dist.main
    out = Path(cfg.out_dir)
    preprocess = preprocess_of(cfg)
    data = load_train_data(cfg, preprocess, show, datasets)

    model, aux, loss = build_model(cfg, data, resuming=resume and (out / "last.pt").is_file())
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    for module in (model, aux, loss):
        module.to(device, memory_format=memory_format)
    ema = EMA(model, aux, cfg.ema_decay) if cfg.ema_decay else None
    net = JointNet(model, aux, needs_attention(cfg, model, loss))

    d = cfg.loss.distill
    main_teachers, aux_teachers = build_teachers(
        d, data.train_set.labels, data.aux_labels, preprocess, device, cfg.channels_last
    )
    offline = {}  # offline distillation: the teachers score the training set once (below), then are dropped
    if d.offline:
        offline = {h: t for h, t in {"main": main_teachers, **aux_teachers}.items() if t}
        main_teachers, aux_teachers = None, {}
    step_module: nn.Module = TrainStep(
        net,
        loss,
        cfg.data.aux_weight,
        cfg.loss.aux_label_smoothing,
        main_teachers,
        d.weight,
        aux_teachers,
        d.temperature,
    )
    if dist.enabled:  # the loss is inside: its centres are synchronised like every other parameter
        step_module = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None
        )
    step_forward = torch.compile(step_module) if cfg.compile else step_module

    optimizer = build_optimizer(cfg.optim, cfg.lr, model, aux, loss)
    steps_per_epoch = max(1, int(data.train_mask.size // dist.world) // cfg.optim.batch_size)
    schedule = build_schedule(cfg.schedule, optimizer, cfg.lr, cfg.epochs, steps_per_epoch)

    augment = BatchAugment(online_augment(cfg), cfg.data.input_size, cfg.data.source_size, seed=cfg.seed, device=device)
    feed = DeviceFeed(
        data.train_images,
        data.train_set.targets,
        device,
        augment,
        preprocess.normalise,
        mask=data.train_mask,
        aux=data.aux_targets,
        channels_last=cfg.channels_last,
    )
    if cfg.data.mode == "draw":  # PLD: each epoch trains on labels drawn from these distributions
        feed.set_label_draw(data.train_set.targets, cfg.seed)
    if offline:
        feed_offline_targets(
            cfg,
            feed,
            offline,
            {"main": data.train_set.labels, **data.aux_labels},
            out,
            preprocess,
            device,
            precision,
            show,
        )
    return Run(
        cfg=cfg,
        out=out,
        device=device,
        dist=dist,
        precision=precision,
        progress=progress,
        preprocess=preprocess,
        data=data,
        model=model,
        aux=aux,
        loss=loss,
        ema=ema,
        net=net,
        step_module=step_module,
        step_forward=step_forward,
        optimizer=optimizer,
        schedule=schedule,
        augment=augment,
        feed=feed,
    )
