"""Model files: a plain dict holding the weights plus everything needed to use them.

Keys: ``arch``, ``arch_kwargs``, ``labels``, ``preprocess``, ``model`` (state_dict), and optionally
``config``, ``metrics``, ``card`` and ``calibration`` (``{"temperature": T, ...}``: probabilities are
softmax(logits / T)). Labels, preprocessing and calibration travel with the weights, never in file names.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.io_utils import atomic_write
from ferkit.models.registry import create_model
from ferkit.transforms.preprocess import Preprocess


@dataclass
class LoadedModel:
    """A ready-to-run classifier with its labels and preprocessing."""

    model: nn.Module
    labels: tuple[str, ...]
    preprocess: Preprocess
    arch: str
    meta: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0  # calibration: probabilities = softmax(logits / temperature)


def temperature_of(payload: dict, where: str = "model") -> float:
    """The calibration temperature stored in a model file (1.0 when it has none); a bad value raises."""
    calibration = payload.get("calibration") or {}
    try:
        t = float(calibration.get("temperature", 1.0))
    except (TypeError, ValueError, AttributeError):
        raise ModelError(f"{where}: calibration temperature {calibration!r} is not a number") from None
    if not math.isfinite(t) or t <= 0:
        raise ModelError(f"{where}: calibration temperature must be a positive finite number, got {t}")
    return t


def model_payload(model: nn.Module, labels, preprocess: Preprocess, arch_kwargs: dict | None = None, **extra) -> dict:
    return {
        "format": "ferkit-model-v1",
        "arch": model.arch_name,
        "arch_kwargs": arch_kwargs or {},
        "labels": list(labels),
        "preprocess": preprocess.to_dict(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **extra,
    }


def save_model(
    path: str | os.PathLike, model: nn.Module, labels, preprocess: Preprocess, arch_kwargs: dict | None = None, **extra
) -> Path:
    payload = model_payload(model, labels, preprocess, arch_kwargs, **extra)
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def read_file(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for corrupt files
        raise ModelError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}: {e})") from None


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Load a ferkit model file (or a training checkpoint) ready for inference, in eval mode."""
    payload = read_file(path)
    for key in ("arch", "labels", "model"):
        if key not in payload:
            raise ModelError(
                f"{path}: not a ferkit model file (missing {key!r}); "
                "for bare state_dicts use ferkit.models.weights.load_pretrained"
            )
    model = create_model(
        payload["arch"],
        num_classes=len(payload["labels"]),
        in_chans=payload.get("preprocess", {}).get("in_chans", 1),
        **payload.get("arch_kwargs", {}),
    )
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as e:
        raise ModelError(f"{path}: weights do not fit architecture {payload['arch']!r}: {e}") from None
    model.eval()
    meta = {k: v for k, v in payload.items() if k not in ("model", "optimizer", "scheduler", "ema", "loss_state")}
    return LoadedModel(
        model=model,
        labels=tuple(payload["labels"]),
        preprocess=Preprocess.from_dict(payload.get("preprocess", {})),
        arch=payload["arch"],
        meta=meta,
        temperature=temperature_of(payload, str(path)),
    )


def write_calibration(path: str | os.PathLike, calibration: dict) -> Path:
    """Store ``calibration`` (must hold a positive ``temperature``) in a model file, atomically; weights untouched."""
    payload = read_file(path)
    if "model" not in payload or "labels" not in payload:
        raise ModelError(f"{path}: not a ferkit model file (missing 'model' or 'labels')")
    temperature_of({"calibration": calibration}, str(path))
    payload["calibration"] = dict(calibration)
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))
