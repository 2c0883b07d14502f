"""int8 post-training static quantisation of an exported classifier with ONNX Runtime.

Weights per channel (int8) and activations (uint8) in QDQ form, calibrated on a few hundred face crops the
caller provides (training images, never the test split). The final Gemm (features -> logits) stays float: it
is tiny, and keeping it float lets feature-level smoothing run the head in numpy as for a float model. The
ferkit metadata (labels, preprocessing, arch) is copied over, with ``quantization`` = ``int8``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from ferkit.errors import ModelError


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over a float array of model inputs."""

    def __init__(self, inputs: np.ndarray, batch: int = 64):
        self.batches = iter([{"input": inputs[i : i + batch]} for i in range(0, len(inputs), batch)])

    def get_next(self):
        return next(self.batches, None)


def quantize_int8(model: bytes, calibration_inputs: np.ndarray) -> bytes:
    """A float ferkit ONNX model (bytes) -> its int8 version (bytes). calibration_inputs: (N, C, H, W) float32
    model inputs, already preprocessed (N of a few hundred is plenty)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration_inputs) == 0:
        raise ModelError("int8 quantisation needs calibration images (none given)")
    proto = onnx.load_from_string(model)
    head = [n.name for n in proto.graph.node if "logits" in n.output]
    meta = {p.key: p.value for p in proto.metadata_props}
    with tempfile.TemporaryDirectory(prefix="ferkit-quant-") as tmp:
        src, pre, dst = (Path(tmp) / name for name in ("float.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(model)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            _Calibration(np.ascontiguousarray(calibration_inputs, np.float32)),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=head,
        )
        out = onnx.load(str(dst))
    del out.metadata_props[:]
    for key, value in {**meta, "quantization": "int8"}.items():
        entry = out.metadata_props.add()
        entry.key, entry.value = key, value
    out.producer_name = "ferkit"
    return out.SerializeToString()


def calibration_crops(data_root: str | os.PathLike | None = None, n: int = 512, seed: int = 0) -> np.ndarray:
    """n FER2013 Training crops (uint8, 48x48), drawn with a fixed seed, for calibration."""
    from ferkit.data.loaders_fer import load_fer2013

    train = load_fer2013("Training", data_root=data_root, progress=False)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(train.images), size=min(n, len(train.images)), replace=False)
    return np.asarray(train.images[np.sort(rows)])
