"""An exported ONNX classifier as a LoadedModel, so evaluation runs on the exact file that ships.

The wrapper is an ``nn.Module`` whose forward runs ONNX Runtime on the CPU and returns the ``logits`` output;
labels, preprocessing and the calibration temperature come from the file's metadata.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ferkit.errors import ModelError


class OnnxLogits(nn.Module):
    """forward(x: normalised (B, C, H, W) tensor) -> logits tensor, computed by ONNX Runtime on the CPU."""

    def __init__(self, session):
        super().__init__()
        self.session = session
        self._input = session.get_inputs()[0].name
        names = [o.name for o in session.get_outputs()]
        self._output = "logits" if "logits" in names else names[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run([self._output], {self._input: x.detach().float().cpu().numpy()})[0]
        return torch.from_numpy(np.asarray(out, np.float32)).to(x.device)


def load_onnx_model(path: str | os.PathLike, threads: int | None = None):
    """A ``.onnx`` file exported by ``ferkit export`` -> LoadedModel (model = ONNX Runtime wrapper)."""
    import onnxruntime as ort

    from ferkit.export.onnx import read_onnx_metadata
    from ferkit.models.checkpoint import LoadedModel
    from ferkit.transforms.preprocess import Preprocess

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file {str(path)!r} not found")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # onnxruntime raises its own exception types for bad files
        raise ModelError(f"{path}: not a readable ONNX model ({e})") from None
    meta = read_onnx_metadata(session)
    return LoadedModel(
        model=OnnxLogits(session).eval(),
        labels=tuple(meta["labels"]),
        preprocess=Preprocess.from_dict(meta["preprocess"]),
        arch=meta["arch"],
        meta={"format": "onnx", "path": str(path)},
        temperature=meta["temperature"],
    )
