"""Typed training configuration, loaded from YAML with dotted CLI overrides (``optim.lr=0.05``).

Unknown keys are rejected with the valid choices listed, so a typo never silently does nothing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from ferkit.errors import ConfigError
from ferkit.transforms.augment import AugmentConfig


@dataclass
class ModelConfig:
    name: str = "ferresnet_m"
    drop_rate: float = 0.2
    pretrained: str | None = None          # local weight file for transfer learning
    freeze: list[str] = field(default_factory=list)  # parameter-name prefixes to freeze
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class DataConfig:
    dataset: str = "fer2013"
    mode: str | None = None                # FERPlus label mode: majority | probability | crossentropy
    data_root: str | None = None           # else $FERKIT_DATA
    cache: str | None = None               # else $FERKIT_CACHE or ~/.cache/ferkit
    train_split: str = "Training"
    val_split: str = "PublicTest"
    train_subset: int | None = None        # use a stratified random subset (tests, quick runs)
    val_subset: int | None = None
    aux_heads: list[str] = field(default_factory=list)  # extra label sets trained jointly, e.g. [fer2013]
    aux_weight: float = 1.0
    balanced_sampler: bool = False
    source_size: int = 48
    input_size: int = 40
    mean: float = 0.5
    std: float = 0.25
    illumination: str = "none"


@dataclass
class LossConfig:
    name: str = "cross_entropy"
    params: dict[str, Any] = field(default_factory=dict)
    aux_label_smoothing: float = 0.0


@dataclass
class OptimConfig:
    name: str = "sgd"                      # sgd | adam | adamw
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    batch_size: int = 64
    loss_lr: float = 0.5                   # learning rate for loss parameters (centres)
    backbone_lr_mult: float = 1.0          # LR of every non-head parameter = lr * this (fine-tuning)


@dataclass
class ScheduleConfig:
    name: str = "cosine"                   # cosine | onecycle | plateau | constant
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
    ema_decay: float = 0.0                 # 0 disables the weight EMA
    threads: int | None = None             # torch intra-op threads; None = torch default
    device: str = "auto"                   # auto | cpu | cuda
    amp: bool = True                       # mixed precision when on a GPU
    eval_tta: str = "none"
    out_dir: str = "runs/default"
    max_minutes: float | None = None       # stop cleanly (checkpointed) after this wall time

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown config key(s) {', '.join(where + k for k in unknown)}; "
                          f"valid keys{' in ' + where.rstrip('.') if where else ''}: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in values.items():
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            kwargs[key] = _build(hint, value or {}, f"{where}{key}.")
        elif hint is tuple[float, float] or str(hint).startswith("tuple"):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    return cls(**kwargs)


def _parse_scalar(text: str) -> Any:
    return yaml.safe_load(text)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=value`` strings (values parsed as YAML) to a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        key, text = item.split("=", 1)
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        node[parts[-1]] = _parse_scalar(text)
    return raw


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> TrainConfig:
    raw: dict = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} not found")
        try:
            raw = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: invalid YAML ({e})") from None
    raw = apply_overrides(raw, overrides or [])
    cfg = _build(TrainConfig, raw, "")
    validate(cfg)
    return cfg


def validate(cfg: TrainConfig) -> None:
    choices = {"optim.name": (cfg.optim.name, ("sgd", "adam", "adamw")),
               "schedule.name": (cfg.schedule.name, ("cosine", "onecycle", "plateau", "constant")),
               "device": (cfg.device, ("auto", "cpu", "cuda")),
               "eval_tta": (cfg.eval_tta, ("none", "flip", "tencrop")),
               "data.illumination": (cfg.data.illumination, ("none", "hist_eq", "clahe"))}
    for key, (value, valid) in choices.items():
        if value not in valid:
            raise ConfigError(f"{key}={value!r} is not valid; choose from {', '.join(valid)}")
    if cfg.epochs < 1:
        raise ConfigError(f"epochs must be >= 1, got {cfg.epochs}")
    if cfg.optim.backbone_lr_mult < 0:
        raise ConfigError(f"optim.backbone_lr_mult must be >= 0, got {cfg.optim.backbone_lr_mult}")
    if cfg.data.input_size > cfg.data.source_size:
        raise ConfigError("data.input_size must not exceed data.source_size")
