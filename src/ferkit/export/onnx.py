"""Export a ferkit classifier to ONNX: input ``input`` (B, C, H, W) normalised float, outputs ``logits`` and
``features`` (the pooled vector before the head, for feature-level aggregation). Labels, preprocessing and
architecture travel in ``metadata_props`` as JSON, so an ONNX file is self-describing like a ``.pt`` one; so does
its model spec (``model_spec``, the format third-party models use: ferkit.inference.model_spec). The
calibration ``temperature`` travels there too: the graph returns raw logits, probabilities are
softmax(logits / temperature).
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.io_utils import atomic_write

OPSET = 17
METADATA_KEYS = ("labels", "preprocess", "arch", "format", "temperature")


class _LogitsAndFeatures(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        features = self.model.forward_features(x)
        return self.model.forward_head(features), features


def model_spec(loaded) -> dict:
    """The model spec (ferkit.inference.model_spec) of a ferkit model: what another runtime, or ferkit itself,
    needs to run the exported file without ferkit's own metadata."""
    pre = loaded.preprocess
    channels = int(pre.in_chans)

    def per_channel(values) -> list[float]:
        values = [float(v) for v in values]
        return values * channels if len(values) == 1 else values

    return {
        "name": loaded.arch,
        "labels": list(loaded.labels),
        "input_size": [pre.input_size, pre.input_size],
        "color": "grey" if channels == 1 else "rgb",
        "layout": "nchw",
        "scale": 1 / 255,
        "mean": per_channel(pre.mean),
        "std": per_channel(pre.std),
        "output": "logits",
        "temperature": float(loaded.temperature),
        "crop": "aligned",
        "source_size": int(pre.source_size),
        "illumination": pre.illumination,
    }


def onnx_bytes(loaded) -> bytes:
    """A LoadedModel -> serialized ONNX model (with metadata)."""
    import onnx

    model = loaded.model.eval().cpu()
    pre = loaded.preprocess
    dummy = torch.zeros(1, pre.in_chans, pre.input_size, pre.input_size)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter warns that it is legacy; it needs no onnxscript and handles these models.
        warnings.simplefilter("ignore")
        # The wrapper must be in eval mode too: the exporter restores the wrapper's mode recursively afterwards.
        torch.onnx.export(
            _LogitsAndFeatures(model).eval(),
            (dummy,),
            buf,
            input_names=["input"],
            output_names=["logits", "features"],
            opset_version=OPSET,
            dynamo=False,
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}, "features": {0: "batch"}},
        )
    proto = onnx.load_from_string(buf.getvalue())
    meta = {
        "labels": json.dumps(list(loaded.labels)),
        "preprocess": json.dumps(pre.to_dict()),
        "arch": loaded.arch,
        "format": "ferkit-onnx-v1",
        "temperature": repr(float(loaded.temperature)),
        "model_spec": json.dumps(model_spec(loaded)),
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "ferkit"
    return proto.SerializeToString()


def export_onnx(model, path: str | os.PathLike) -> Path:
    """Export a shipped model name, model file path or LoadedModel to an ONNX file (atomic write)."""
    from ferkit.models.checkpoint import LoadedModel

    if not isinstance(model, LoadedModel):
        from ferkit import pretrained

        model = pretrained.load(model)
    data = onnx_bytes(model)

    def _write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, _write)


def read_onnx_metadata(source) -> dict:
    """labels (tuple), preprocess (dict), arch, temperature (1.0 if absent) from an ONNX file path, bytes or
    InferenceSession."""
    if hasattr(source, "get_modelmeta"):
        props = source.get_modelmeta().custom_metadata_map
    else:
        import onnx

        proto = onnx.load_from_string(source) if isinstance(source, bytes) else onnx.load(str(source))
        props = {p.key: p.value for p in proto.metadata_props}
    missing = [k for k in ("labels", "preprocess") if k not in props]
    if missing:
        raise ModelError(f"ONNX model lacks ferkit metadata {missing}; export it with `ferkit export`")
    from ferkit.models.checkpoint import temperature_of

    try:
        temperature = {"temperature": float(props.get("temperature", "1.0"))}
    except ValueError:
        raise ModelError(f"ONNX model: temperature metadata {props['temperature']!r} is not a number") from None
    return {
        "labels": tuple(json.loads(props["labels"])),
        "preprocess": json.loads(props["preprocess"]),
        "arch": props.get("arch", "?"),
        "temperature": temperature_of({"calibration": temperature}, "ONNX model"),
    }
