"""Typed training configuration, loaded from YAML with dotted CLI overrides (``optim.lr=0.05``).

Unknown keys are rejected with the valid choices listed, so a typo never silently does nothing; values are
converted to the declared types or rejected with the key named (see ``ferkit.training.typed``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferkit.data.ferplus import MODES as LABEL_MODES
from ferkit.errors import ConfigError
from ferkit.training import distill
from ferkit.training.distill import DistillConfig
from ferkit.training.typed import build, load_typed
from ferkit.transforms.augment import AugmentConfig


@dataclass
class ModelConfig:
    name: str = "ferresnet_m"
    drop_rate: float = 0.2
    pretrained: str | None = None  # local weight file or shipped model name for transfer learning
    pretrained_sha256: str | None = None  # the SHA-256 (or a prefix of >= 12 hex digits) `pretrained` must have:
    # runs compared across sessions start from the same weights
    pretrained_head: bool = False  # also load the main head from `pretrained` (same labels, same order)
    aux_pretrained: dict[str, str] = field(default_factory=dict)  # aux head -> model file / shipped name whose
    # head initialises it (same labels)
    freeze: list[str] = field(default_factory=list)  # parameter-name prefixes to freeze
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class OfflineAugmentConfig:
    """``data.offline_augment``: ``copies`` augmented versions of every training image, drawn once with the
    ``augment`` settings from ``seed`` and cached; they join the originals (``keep_original``) as extra training
    images. ``online``: keep augmenting every batch as well (false: batches are only centre-cropped)."""

    copies: int = 0  # 0: off
    seed: int = 0
    keep_original: bool = True
    online: bool = False


@dataclass
class DataConfig:
    dataset: str = "fer2013"
    mode: str | None = None  # label mode: majority | crossentropy | multi_target | draw | probability
    # (docs/research/datasets.md#label-modes)
    data_root: str | None = None  # else $FERKIT_DATA
    cache: str | None = None  # else $FERKIT_CACHE or ~/.cache/ferkit
    train_split: str = "Training"
    val_split: str = "PublicTest"
    train_subset: int | None = None  # use a stratified random subset (tests, quick runs)
    val_subset: int | None = None
    aux_heads: list[str] = field(default_factory=list)  # extra label sets trained jointly, e.g. [fer2013]
    aux_weight: float = 1.0
    balanced_sampler: bool = False
    source_size: int = 48  # side of the prepared crops every reader produces
    input_size: int = 40  # side the network sees (random crop in training, centre crop after)
    in_chans: int = 1  # 1: grey, 3: RGB (readers, checkpoint preprocessing, model input)
    mean: float = 0.5
    std: float = 0.25
    illumination: str = "none"
    offline_augment: OfflineAugmentConfig = field(default_factory=OfflineAugmentConfig)


@dataclass
class LossConfig:
    name: str = "cross_entropy"
    params: dict[str, Any] = field(default_factory=dict)
    aux_label_smoothing: float = 0.0
    distill: DistillConfig = field(default_factory=DistillConfig)  # soft targets of trained teachers


@dataclass
class OptimConfig:
    name: str = "sgd"  # sgd | adam | adamw
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 64
    # Learning-rate rule: lr is the rate for a batch of lr_base_batch images and scales linearly with
    # batch_size (lr * batch_size / lr_base_batch), reached through schedule.warmup_epochs of linear warm-up.
    # null: lr is used as given at any batch size.
    lr_base_batch: int | None = 64
    loss_lr: float = 0.5  # learning rate for loss parameters (centres)
    backbone_lr_mult: float = 1.0  # LR of every non-head parameter = lr * this (fine-tuning)


@dataclass
class ScheduleConfig:
    name: str = "cosine"  # cosine | onecycle | plateau | constant
    warmup_epochs: float = 1.0
    min_lr: float = 1e-4
    plateau_patience: int = 3
    plateau_factor: float = 0.5


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    epochs: int = 30
    seed: int = 0
    ema_decay: float = 0.0  # 0 disables the weight EMA
    threads: int | None = None  # torch intra-op threads; None = torch default
    device: str = "auto"  # auto | cpu | cuda
    precision: str = "auto"  # auto (bf16 where the CPU/GPU computes it natively) | fp32 | bf16
    amp: bool = True  # false: precision=auto means fp32 (older configs' switch)
    channels_last: bool = True  # NHWC activations (faster convolutions on CPUs and GPUs)
    compile: bool = False  # torch.compile the network (slow start, faster steps on GPUs)
    eval_tta: str = "none"
    out_dir: str = "runs/default"
    max_minutes: float | None = None  # stop cleanly (checkpointed) after this wall time
    early_stop_patience: int | None = None  # finish when PublicTest accuracy has not improved for this many
    # epochs (Keras EarlyStopping, as in mini-Xception's recipe)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def lr(self) -> float:
        """The base learning rate at this run's batch size (the linear scaling rule of OptimConfig)."""
        o = self.optim
        return o.lr if o.lr_base_batch is None else o.lr * o.batch_size / o.lr_base_batch


_build = build  # older name, kept for callers outside this package


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    """YAML file + ``key.sub=value`` overrides -> a type-checked, validated TrainConfig."""
    cfg = load_typed(TrainConfig, path, overrides)
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    choices = {
        "optim.name": (cfg.optim.name, ("sgd", "adam", "adamw")),
        "schedule.name": (cfg.schedule.name, ("cosine", "onecycle", "plateau", "constant")),
        "device": (cfg.device, ("auto", "cpu", "cuda")),
        "eval_tta": (cfg.eval_tta, ("none", "flip", "tencrop")),
        "data.illumination": (cfg.data.illumination, ("none", "hist_eq", "clahe")),
    }
    choices["precision"] = (cfg.precision, ("auto", "fp32", "bf16"))
    choices["data.in_chans"] = (cfg.data.in_chans, (1, 3))
    choices["data.mode"] = (cfg.data.mode, (None,) + LABEL_MODES)
    for key, (value, valid) in choices.items():
        if value not in valid:
            raise ConfigError(f"{key}={value!r} is not valid; choose from {', '.join(map(str, valid))}")
    if cfg.epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {cfg.epochs}")
    positive = {
        "optim.batch_size": cfg.optim.batch_size,
        "data.source_size": cfg.data.source_size,
        "data.input_size": cfg.data.input_size,
        "data.std": cfg.data.std,
    }
    if cfg.optim.lr_base_batch is not None:
        positive["optim.lr_base_batch"] = cfg.optim.lr_base_batch
    digest = cfg.model.pretrained_sha256
    if digest is not None and (len(digest) < 12 or any(c not in "0123456789abcdef" for c in digest.lower())):
        raise ConfigError(f"model.pretrained_sha256 must be at least 12 hex digits of a SHA-256, got {digest!r}")
    if digest is not None and not cfg.model.pretrained:
        raise ConfigError("model.pretrained_sha256 is set but model.pretrained is not")
    if cfg.early_stop_patience is not None:
        positive["early_stop_patience"] = cfg.early_stop_patience
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key} must be > 0, got {value}")
    non_negative = {
        "optim.lr": cfg.optim.lr,
        "optim.loss_lr": cfg.optim.loss_lr,
        "optim.weight_decay": cfg.optim.weight_decay,
        "optim.momentum": cfg.optim.momentum,
        "ema_decay": cfg.ema_decay,
        "schedule.warmup_epochs": cfg.schedule.warmup_epochs,
        "schedule.min_lr": cfg.schedule.min_lr,
    }
    for key, value in non_negative.items():
        if value < 0:
            raise ConfigError(f"{key} must be >= 0, got {value}")
    if not 0 <= cfg.ema_decay < 1:
        raise ConfigError(f"ema_decay must be in [0, 1), got {cfg.ema_decay}")
    if cfg.threads is not None and cfg.threads < 1:
        raise ConfigError(f"threads must be >= 1, got {cfg.threads}")
    if cfg.optim.backbone_lr_mult < 0:
        raise ConfigError(f"optim.backbone_lr_mult must be >= 0, got {cfg.optim.backbone_lr_mult}")
    distill.validate(cfg.loss.distill)
    if cfg.data.input_size > cfg.data.source_size:
        raise ConfigError("data.input_size must not exceed data.source_size")
    if cfg.model.pretrained_head and not cfg.model.pretrained:
        raise ConfigError("model.pretrained_head=true needs model.pretrained (the file whose head to load)")
    validate_augment(cfg.augment)
    offline = cfg.data.offline_augment
    if offline.copies < 0:
        raise ConfigError(f"data.offline_augment.copies must be >= 0, got {offline.copies}")
    if offline.copies == 0 and not offline.keep_original:
        raise ConfigError("data.offline_augment.keep_original=false needs copies >= 1 (else no training images)")


def validate_augment(a: AugmentConfig, where: str = "augment.") -> None:
    """Probabilities in [0, 1], ranges ordered and inside their domains (one-line ConfigErrors naming the key)."""
    for key in ("flip", "erase", "blur", "downscale", "jpeg"):
        value = getattr(a, key)
        if not 0 <= value <= 1:
            raise ConfigError(f"{where}{key} is a probability and must be in [0, 1], got {value}")
    ranges = {
        "blur_sigma": (a.blur_sigma, 0.0, None, False),
        "jpeg_quality": (a.jpeg_quality, 1, 100, True),
        "erase_area": (a.erase_area, 0.0, 1.0, True),
    }
    for key, ((lo, hi), low, high, low_ok) in ranges.items():
        if lo > hi or (lo < low if low_ok else lo <= low) or (high is not None and hi > high):
            domain = f"{'[' if low_ok else '('}{low}, {high if high is not None else 'inf'}]"
            raise ConfigError(f"{where}{key}=[{lo}, {hi}] must be an ordered [low, high] range in {domain}")
    if not 0 < a.downscale_min <= 1:
        raise ConfigError(f"{where}downscale_min must be in (0, 1], got {a.downscale_min}")
