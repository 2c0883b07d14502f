"""The model spec: what ferkit needs to run a third-party FER classifier (ONNX) behind its face pipeline.

A spec travels in the ONNX file's metadata (key ``model_spec``, JSON) or in a JSON file beside it (``m.onnx`` +
``m.json``). Keys:

- ``labels``: the model's class names in output order; names ferkit knows (angry, fearful, happy, ...) become
  its own (anger, fear, happiness, ...), the others are kept as given;
- ``input_size``: [height, width] of the network input; ``color``: ``grey``, ``rgb`` or ``bgr``;
  ``layout``: ``nchw`` or ``nhwc``; ``scale`` (default 1/255), then ``mean`` and ``std`` per channel
  (default 0 and 1): input = (pixel * scale - mean) / std;
- ``output``: ``logits`` or ``probabilities``; ``temperature`` (optional, default 1): softmax(logits / T);
- ``crop``: ``aligned`` (ferkit's FER framing; optional ``source_size``: framed at that side, then centre-cropped
  to ``input_size``; optional ``illumination``: none, hist_eq, clahe), ``box`` (the detector's box made square,
  side x (1 + ``margin``), zero outside the image) or ``template`` (``template``: {landmark: [x, y]} in input
  pixels, two or more of right_eye, left_eye, nose, mouth; ``margin`` is the box fallback for faces without
  landmarks).

A key that is unknown, missing or inconsistent is a one-line ModelError naming it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ferkit.errors import ModelError
from ferkit.faces.types import LANDMARK_NAMES

SPEC_METADATA_KEY = "model_spec"
COLORS = {"grey": 1, "gray": 1, "rgb": 3, "bgr": 3}
KEYS = {
    "labels",
    "input_size",
    "color",
    "scale",
    "mean",
    "std",
    "layout",
    "output",
    "temperature",
    "crop",
    "margin",
    "template",
    "source_size",
    "illumination",
    "name",
}
CROP_KEYS = {
    "aligned": {"source_size", "illumination"},
    "box": {"margin"},
    "template": {"template", "margin"},
}


@dataclass
class ModelSpec:
    labels: tuple[str, ...]
    input_size: tuple[int, int]  # (height, width)
    color: str = "rgb"
    scale: float = 1 / 255
    mean: list[float] = field(default_factory=lambda: [0.0])
    std: list[float] = field(default_factory=lambda: [1.0])
    layout: str = "nchw"
    output: str = "logits"
    temperature: float = 1.0
    crop: str = "box"
    margin: float = 0.0
    template: dict[str, tuple[float, float]] = field(default_factory=dict)
    source_size: int | None = None
    illumination: str = "none"
    name: str = "spec"

    @property
    def channels(self) -> int:
        return COLORS[self.color]

    def to_dict(self) -> dict:
        d = {
            "labels": list(self.labels),
            "input_size": list(self.input_size),
            "color": self.color,
            "scale": self.scale,
            "mean": self.mean,
            "std": self.std,
            "layout": self.layout,
            "output": self.output,
            "temperature": self.temperature,
            "crop": self.crop,
        }
        if self.crop == "aligned":
            d.update(
                {
                    "source_size": self.source_size or self.input_size[0],
                    "illumination": self.illumination,
                }
            )
        else:
            d["margin"] = self.margin
        if self.crop == "template":
            d["template"] = {k: list(v) for k, v in self.template.items()}
        return d


def ferkit_label(name: str) -> str:
    """ferkit's spelling of a label it knows (fearful -> fear), else the name as given."""
    from ferkit.labels import canonical

    try:
        return canonical(name)
    except KeyError:
        return name


def _fail(where: str, key: str, problem: str):
    raise ModelError(f"{where}: model spec key {key!r} {problem}")


def _number(where, key, value, lo=None, positive=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(where, key, f"must be a number, not {value!r}")
    if positive and value <= 0 or lo is not None and value < lo:
        _fail(where, key, f"must be {'> 0' if positive else f'>= {lo}'}, not {value}")
    return float(value)


def _per_channel(where, key, value, channels: int, default: float, positive=False) -> list[float]:
    if value is None:
        return [default] * channels
    values = [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    if not isinstance(values, list) or len(values) not in (1, channels):
        _fail(
            where,
            key,
            f"must be a number or a list of {channels} (one per channel), not {value!r}",
        )
    values = [_number(where, key, v, positive=positive) for v in values]
    return values * channels if len(values) == 1 else values


def _choice(where, key, value, choices) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        _fail(where, key, f"must be one of {', '.join(choices)}, not {value!r}")
    return value.lower()


def parse_spec(raw: dict, where: str = "model spec") -> ModelSpec:
    """A spec dict (from JSON) -> ModelSpec; one-line ModelError naming the first bad key."""
    if not isinstance(raw, dict):
        raise ModelError(f"{where}: the model spec must be a JSON object, not {type(raw).__name__}")
    for key in raw:
        if key not in KEYS:
            _fail(where, key, f"is unknown; known keys: {', '.join(sorted(KEYS))}")
    for key in ("labels", "input_size", "color", "crop"):
        if key not in raw:
            _fail(where, key, "is missing")
    labels = raw["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x.strip() for x in labels):
        _fail(where, "labels", "must be a non-empty list of names")
    mapped = tuple(ferkit_label(x) for x in labels)
    if len(set(mapped)) != len(mapped):
        _fail(where, "labels", f"names the same class twice: {labels}")
    size = raw["input_size"]
    if isinstance(size, int) and not isinstance(size, bool):
        size = [size, size]
    if not isinstance(size, list) or len(size) != 2 or not all(isinstance(v, int) and v >= 8 for v in size):
        _fail(
            where,
            "input_size",
            f"must be [height, width] in pixels (each >= 8), not {raw['input_size']!r}",
        )
    color = _choice(where, "color", raw["color"], tuple(COLORS))
    color = "grey" if color == "gray" else color
    channels = COLORS[color]
    crop = _choice(where, "crop", raw["crop"], tuple(CROP_KEYS))
    for key in set().union(*CROP_KEYS.values()) - CROP_KEYS[crop]:
        if key in raw:
            _fail(
                where,
                key,
                f"does not apply to crop {crop!r} (it takes {', '.join(sorted(CROP_KEYS[crop]))})",
            )
    spec = ModelSpec(
        labels=mapped,
        input_size=(size[0], size[1]),
        color=color,
        scale=_number(where, "scale", raw.get("scale", 1 / 255), positive=True),
        mean=_per_channel(where, "mean", raw.get("mean"), channels, 0.0),
        std=_per_channel(where, "std", raw.get("std"), channels, 1.0, positive=True),
        layout=_choice(where, "layout", raw.get("layout", "nchw"), ("nchw", "nhwc")),
        output=_choice(where, "output", raw.get("output", "logits"), ("logits", "probabilities")),
        temperature=_number(where, "temperature", raw.get("temperature", 1.0), positive=True),
        crop=crop,
        margin=_number(where, "margin", raw.get("margin", 0.0), lo=-0.5),
        name=str(raw.get("name", "spec")),
    )
    if crop == "aligned":
        if size[0] != size[1]:
            _fail(where, "input_size", f"must be square for crop 'aligned', not {size}")
        source = raw.get("source_size", size[0])
        if not isinstance(source, int) or isinstance(source, bool) or source < size[0]:
            _fail(
                where,
                "source_size",
                f"must be an integer >= the input side {size[0]}, not {source!r}",
            )
        spec.source_size = source
        spec.illumination = _choice(
            where,
            "illumination",
            raw.get("illumination", "none"),
            ("none", "hist_eq", "clahe"),
        )
    if crop == "template":
        points = raw.get("template")
        if not isinstance(points, dict) or len(points) < 2:
            _fail(
                where,
                "template",
                "must map two or more landmarks (right_eye, left_eye, nose, mouth) to [x, y]",
            )
        for name, xy in points.items():
            if name not in LANDMARK_NAMES:
                _fail(
                    where,
                    "template",
                    f"names an unknown landmark {name!r}; known: {', '.join(LANDMARK_NAMES)}",
                )
            if not isinstance(xy, list) or len(xy) != 2:
                _fail(
                    where,
                    "template",
                    f"position of {name!r} must be [x, y], not {xy!r}",
                )
            for v in xy:
                _number(where, "template", v)
        spec.template = {k: (float(v[0]), float(v[1])) for k, v in points.items()}
    return spec


def read_spec(path: str | os.PathLike, metadata: dict[str, str]) -> ModelSpec | None:
    """The spec of the ONNX file at ``path``: the JSON beside it (``m.json``) if there is one, else its
    ``model_spec`` metadata, else None."""
    beside = Path(path).with_suffix(".json")
    if beside.is_file():
        try:
            raw = json.loads(beside.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"{beside}: not a readable JSON model spec ({e})") from None
        return parse_spec(raw, str(beside))
    if SPEC_METADATA_KEY in metadata:
        try:
            raw = json.loads(metadata[SPEC_METADATA_KEY])
        except json.JSONDecodeError as e:
            raise ModelError(f"{path}: metadata {SPEC_METADATA_KEY!r} is not JSON ({e})") from None
        return parse_spec(raw, f"{path} metadata")
    return None
