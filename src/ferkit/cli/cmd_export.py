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
    p.add_argument(
        "--quantize",
        default=None,
        choices=("int8",),
        help="int8 static quantisation (ONNX Runtime), calibrated on FER2013 Training crops; the file "
        "runs as a recogniser classifier like any ferkit .onnx",
    )
    p.add_argument("--calibration-images", type=int, default=512, metavar="N", help="crops used to calibrate")
    p.add_argument("--data-root", default=None, help="dataset root for calibration (default: $FERKIT_DATA)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ferkit import pretrained
    from ferkit.export.onnx import export_onnx

    loaded = pretrained.load(args.model)
    if args.quantize:
        return _quantized(loaded, args)
    path = export_onnx(loaded, Path(args.output))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {loaded.arch}, labels {', '.join(loaded.labels)}")
    if not args.no_check:
        import onnxruntime as ort

        pre = loaded.preprocess
        x = torch.randn(4, pre.in_chans, pre.input_size, pre.input_size)
        with torch.inference_mode():
            expected = loaded.model(x).numpy()
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x.numpy()})[
            0
        ]
        diff = float(np.abs(got - expected).max())
        print(f"check: max |ONNX Runtime - PyTorch| logit difference {diff:.2e}")
        if diff > 1e-4:
            raise FerkitError(f"exported model disagrees with PyTorch (max difference {diff:.2e})")
    return 0


def _quantized(loaded, args) -> int:
    """Export, quantise to int8, write; then report how often int8 and float agree on held-out crops."""
    import numpy as np

    from ferkit.export.onnx import onnx_bytes
    from ferkit.export.quantize import calibration_crops, quantize_int8
    from ferkit.inference.classifier import OnnxClassifier
    from ferkit.io_utils import atomic_write

    crops = calibration_crops(args.data_root, n=args.calibration_images + 256)
    calib, held_out = crops[: args.calibration_images], crops[args.calibration_images :]
    fp32 = onnx_bytes(loaded)
    int8 = quantize_int8(fp32, loaded.preprocess(calib).numpy())
    path = atomic_write(Path(args.output), lambda tmp: Path(tmp).write_bytes(int8))
    print(
        f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, int8; float {len(fp32) / 1e6:.2f} MB): "
        f"{loaded.arch}, labels {', '.join(loaded.labels)}"
    )
    if not args.no_check:
        a = OnnxClassifier(fp32, threads=1).forward(held_out)[0].argmax(1)
        b = OnnxClassifier(int8, threads=1).forward(held_out)[0].argmax(1)
        agree = float(np.mean(a == b))
        print(f"check: int8 and float predictions agree on {agree:.1%} of {len(held_out)} held-out training crops")
        if agree < 0.9:
            raise FerkitError(f"int8 model disagrees with the float model on {1 - agree:.1%} of crops")
    return 0
