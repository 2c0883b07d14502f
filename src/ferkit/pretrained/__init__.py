"""Shipped pretrained models: weight files and model cards inside the package (no download, ever).

``resolve(name_or_path)`` maps a shipped model name (``ferplus``, ``fer2013``) or a local file path to a
model file; ``load(name_or_path)`` returns a ready LoadedModel.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ferkit.errors import ModelError

HERE = Path(__file__).resolve().parent
DEFAULT_MODEL = "ferplus"


@dataclass(frozen=True)
class ShippedModel:
    name: str
    weights: Path
    card: Path
    summary: dict


def available() -> dict[str, ShippedModel]:
    """Shipped models found in the package: ``<name>.pt`` with ``<name>.md`` card and ``<name>.json`` summary."""
    out = {}
    for weights in sorted(HERE.glob("*.pt")):
        name = weights.stem
        summary_path = HERE / f"{name}.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else {}
        out[name] = ShippedModel(name=name, weights=weights, card=HERE / f"{name}.md", summary=summary)
    return out


def resolve(name_or_path: str | os.PathLike | None = None) -> Path:
    """A shipped model name or a path to a model file -> the file path."""
    name_or_path = name_or_path or DEFAULT_MODEL
    models = available()
    if str(name_or_path) in models:
        return models[str(name_or_path)].weights
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    shipped = ", ".join(models) or "none installed"
    raise ModelError(f"model {str(name_or_path)!r} is neither a shipped model ({shipped}) nor an existing file")


def load(name_or_path: str | os.PathLike | None = None):
    from ferkit.models.checkpoint import load_model

    return load_model(resolve(name_or_path))
