"""`ferkit export`: write a model as ONNX with its labels and preprocessing in the metadata."""
from __future__ import annotations

import argparse
from pathlib import Path

from ferkit.errors import FerkitError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a model to ONNX", description=__doc__)
    p.add_argument("--model", default=None, help="shipped model name or .pt file (default: ferplus)")
    p.add_argument("--format", default="onnx", choices=("onnx",), help="export format")
    p.add_argument("--output", "-o", required=True, help="output file (.onnx)")
    p.add_argument("--no-check", action="store_true", help="skip comparing ONNX Runtime with PyTorch outputs")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ferkit import pretrained
    from ferkit.export.onnx import export_onnx

    loaded = pretrained.load(args.model)
    path = export_onnx(loaded, Path(args.output))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {loaded.arch}, labels {', '.join(loaded.labels)}")
    if not args.no_check:
        import onnxruntime as ort

        pre = loaded.preprocess
        x = torch.randn(4, pre.in_chans, pre.input_size, pre.input_size)
        with torch.inference_mode():
            expected = loaded.model(x).numpy()
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x.numpy()})[0]
        diff = float(np.abs(got - expected).max())
        print(f"check: max |ONNX Runtime - PyTorch| logit difference {diff:.2e}")
        if diff > 1e-4:
            raise FerkitError(f"exported model disagrees with PyTorch (max difference {diff:.2e})")
    return 0
