"""Classifier runtimes: PyTorch or ONNX Runtime behind one interface.

``forward(crops)`` takes uint8 crops (B, S, S) grey or (B, S, S, 3) RGB, applies only the model's own
Preprocess (``Preprocess.tensors``), runs all of them as one batch and returns (logits, features) as numpy;
``head(features)`` maps (aggregated) features to logits, for feature-level temporal aggregation;
``probabilities(logits)`` is the one softmax, with the model's calibration temperature (stored in the ``.pt``
file or the ONNX metadata).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ferkit.errors import ModelError
from ferkit.inference.probabilities import softmax
from ferkit.transforms.preprocess import Preprocess


class _Calibrated:
    temperature: float = 1.0

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities: softmax(logits / temperature)."""
        return softmax(logits, self.temperature)


class TorchClassifier(_Calibrated):
    runtime = "torch"

    def __init__(self, loaded, device: str = "cpu"):
        self.device = torch.device(device)
        self.model = loaded.model.eval().to(self.device)
        self.labels: tuple[str, ...] = tuple(loaded.labels)
        self.preprocess: Preprocess = loaded.preprocess
        self.arch = loaded.arch
        self.temperature = float(loaded.temperature)

    @torch.inference_mode()
    def forward(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float32), np.zeros((0, 0), np.float32)
        x = self.preprocess(crops).to(self.device)
        features = self.model.forward_features(x)
        logits = self.model.forward_head(features)
        return logits.float().cpu().numpy(), features.float().cpu().numpy()

    @torch.inference_mode()
    def head(self, features: np.ndarray) -> np.ndarray:
        f = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(self.device)
        return self.model.forward_head(f).float().cpu().numpy()


class OnnxClassifier(_Calibrated):
    runtime = "onnx"

    def __init__(self, model: bytes | str | os.PathLike, threads: int | None = None):
        import onnxruntime as ort

        from ferkit.export.onnx import read_onnx_metadata

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        source = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for bad files
            raise ModelError(f"cannot load ONNX model: {e}") from None
        meta = read_onnx_metadata(self.session)
        self.labels = meta["labels"]
        self.preprocess = Preprocess.from_dict(meta["preprocess"])
        self.arch = meta["arch"]
        self.temperature = float(meta["temperature"])
        self._outputs = [o.name for o in self.session.get_outputs()]
        self._head = _linear_head(model) if "features" in self._outputs else None

    def forward(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float32), np.zeros((0, 0), np.float32)
        x = self.preprocess(crops).numpy()
        out = dict(zip(self._outputs, self.session.run(None, {"input": x})))
        return out["logits"], out.get("features", np.zeros((len(x), 0), np.float32))

    def head(self, features: np.ndarray) -> np.ndarray:
        if self._head is None:
            raise ModelError("this ONNX model has no 'features' output; feature-level aggregation needs one")
        weight, bias = self._head
        return features @ weight + bias


def _linear_head(model) -> tuple[np.ndarray, np.ndarray] | None:
    """Weights of the final Gemm (features -> logits) read from the ONNX graph, so the head runs in numpy."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(str(model))
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    for node in proto.graph.node:
        if "logits" in node.output and node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            w, b = inits.get(node.input[1]), inits.get(node.input[2]) if len(node.input) > 2 else None
            if w is None:
                return None
            w = w.T if attrs.get("transB", 0) else w
            return w.astype(np.float32), (b if b is not None else np.zeros(w.shape[1])).astype(np.float32)
    return None


def onnx_model_spec(path: str | os.PathLike):
    """The ModelSpec an ONNX file runs under, or None for ferkit's own exports: a JSON spec beside the file wins;
    then ferkit's metadata (labels and preprocessing); then a ``model_spec`` metadata entry. A file with none of
    them is a ModelError saying what to add."""
    import onnx

    from ferkit.inference.model_spec import SPEC_METADATA_KEY, read_spec

    if not Path(path).is_file():
        raise ModelError(f"model file {str(path)!r} not found")
    try:
        proto = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ModelError(f"{path}: not a readable ONNX model ({e})") from None
    props = {p.key: p.value for p in proto.metadata_props}
    beside = Path(path).with_suffix(".json")
    if beside.is_file() or ("labels" not in props and SPEC_METADATA_KEY in props):
        return read_spec(path, props)
    if "labels" not in props or "preprocess" not in props:
        raise ModelError(
            f"{path}: no model spec: put one beside it ({beside.name}, see the custom models guide) "
            f"or in its {SPEC_METADATA_KEY!r} metadata, or export it with `ferkit export`"
        )
    return None


def load_classifier(
    model: str | os.PathLike | object = None, runtime: str = "torch", device: str = "cpu", threads: int | None = None
):
    """model: shipped name, ``.pt`` / ``.onnx`` path or a LoadedModel; runtime: "torch" | "onnx" (``.onnx``
    files, int8-quantised ones included, always use ONNX Runtime)."""
    from ferkit.models.checkpoint import LoadedModel

    if isinstance(model, (str, os.PathLike)) and Path(model).suffix.lower() == ".onnx":
        # an .onnx file (float or int8 from `ferkit export`) always runs with ONNX Runtime, on the CPU
        if device != "cpu":
            raise ModelError(f"{model}: ONNX files run on the CPU here; use a .pt model for device {device!r}")
        if not Path(model).is_file():
            raise ModelError(f"model file {str(model)!r} not found")
        spec = onnx_model_spec(model)
        if spec is not None:
            from ferkit.inference.spec_classifier import load_spec_classifier

            return load_spec_classifier(model, spec, threads=threads)
        return OnnxClassifier(model, threads=threads)
    if isinstance(model, LoadedModel):
        loaded = model
    else:
        from ferkit import pretrained

        loaded = pretrained.load(model)
    if runtime == "torch":
        return TorchClassifier(loaded, device=device)
    if runtime == "onnx":
        if device != "cpu":
            raise ModelError("runtime='onnx' runs on the CPU here; use runtime='torch' for other devices")
        from ferkit.export.onnx import onnx_bytes

        return OnnxClassifier(onnx_bytes(loaded), threads=threads)
    raise ModelError(f"runtime must be 'torch' or 'onnx', not {runtime!r}")
