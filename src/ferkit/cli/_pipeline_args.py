"""Options shared by `ferkit predict` and `ferkit webcam` (model, detector, runtime, smoothing)."""

from __future__ import annotations

import argparse


def add_pipeline_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("pipeline")
    g.add_argument("--model", default=None, help="shipped model name or .pt/.onnx file (default: ferplus)")
    g.add_argument(
        "--detector",
        default="auto",
        help="auto (faces at every scale) | blazeface | blazeface_short | haar | none (each image is "
        "already one face crop: classify it whole)",
    )
    g.add_argument("--runtime", default="torch", choices=("torch", "onnx"), help="classifier runtime")
    g.add_argument("--device", default="cpu", help="torch device for --runtime torch (cpu, cuda, cuda:1)")
    g.add_argument("--batch-size", type=int, default=64, help="faces per forward pass")
    g.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1; 0 = all cores)")
    g.add_argument("--min-face", type=int, default=0, help="ignore faces smaller than this (pixels)")
    g.add_argument(
        "--smoothing",
        default="ema",
        choices=("none", "mean", "ema", "feature-mean", "feature-ema"),
        help="video aggregation per track",
    )
    g.add_argument("--window", type=int, default=10, help="frames averaged by --smoothing mean")
    g.add_argument("--alpha", type=float, default=0.3, help="weight of the new frame for --smoothing ema")
    g.add_argument(
        "--hysteresis",
        type=float,
        default=0.1,
        help="probability lead a new label needs before the shown label changes (0 = off)",
    )


def add_tta_option(p: argparse.ArgumentParser) -> None:
    """--tta for the commands that classify still images (`ferkit predict`, `ferkit serve`)."""
    p.add_argument(
        "--tta",
        default="flip",
        choices=("flip", "none"),
        help="still images: average each face with its mirror image (flip, the default: steadier "
        "labels for about twice the classifier cost) or not (none); videos and live streams never",
    )


def recognizer_options(args) -> dict:
    """The EmotionRecognizer keyword arguments the pipeline options give (--tta where the command has it)."""
    return dict(
        model=args.model,
        detector=args.detector,
        runtime=args.runtime,
        device=args.device,
        batch_size=args.batch_size,
        min_face=args.min_face,
        threads=args.threads or None,
        smoothing=args.smoothing,
        window=args.window,
        alpha=args.alpha,
        hysteresis=args.hysteresis or None,
        tta=getattr(args, "tta", "flip"),
    )


def build_recognizer(args):
    from ferkit.inference.recognizer import EmotionRecognizer

    return EmotionRecognizer(**recognizer_options(args))
