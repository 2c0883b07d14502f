"""``ferkit evaluate --model NAME_OR_CHECKPOINT_OR_ONNX --dataset NAME --split SPLIT [--tta] [--json OUT]
[--plot PNG] [--plot-reliability PNG] [--predictions CSV] [--perturb occlusion pose ...]``"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model on a dataset split")
    p.add_argument(
        "--model",
        default="ferplus",
        help="shipped model name, model/checkpoint file, or an ONNX file exported by `ferkit export`",
    )
    p.add_argument("--dataset", required=True, help="dataset name (fer2013, ferplus, ckplus, ...)")
    p.add_argument("--split", default="PublicTest", help="split name (default PublicTest)")
    p.add_argument("--data-root", help="dataset root (else $FERKIT_DATA)")
    p.add_argument("--mode", help="FERPlus label mode for the ground truth (default majority)")
    p.add_argument(
        "--tta",
        nargs="?",
        const="flip",
        default="none",
        choices=["none", "flip", "tencrop"],
        help="test-time augmentation (bare --tta = flip)",
    )
    p.add_argument("--subset", type=int, help="evaluate on a stratified random subset of this size")
    p.add_argument(
        "--face-subset",
        choices=["pose", "occlusion", "frontal"],
        help="score only the hard cases the face pipeline finds: large head pose (|yaw| or |roll| >= "
        "--pose-deg), low detector confidence (an occlusion proxy), or the frontal complement",
    )
    p.add_argument("--pose-deg", type=float, default=30.0, help="pose threshold in degrees for --face-subset pose")
    p.add_argument("--json", dest="json_out", help="write metrics JSON here")
    p.add_argument("--plot", help="save the confusion matrix PNG here")
    p.add_argument(
        "--plot-reliability",
        metavar="FILE",
        help="save the reliability diagram (top-label accuracy vs confidence, 15 bins) PNG here",
    )
    p.add_argument(
        "--predictions",
        metavar="FILE",
        help="write each item's label, prediction and confidence as CSV (id, group, label, predicted, "
        "confidence, correct); two such files are compared with `ferkit compare`",
    )
    p.add_argument(
        "--perturb",
        nargs="+",
        metavar="NAME",
        help="also report accuracy vs clean under synthetic perturbations: all, a family (occlusion, pose, "
        "brightness, contrast, blur, noise, jpeg, lowres) or single settings (occlude_eyes, "
        "rotate_+15, jpeg_25, lowres_16, ...)",
    )
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=512)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit.data import load_dataset
    from ferkit.data.subsets import stratified_subset
    from ferkit.errors import ConfigError
    from ferkit.evaluation.evaluate import evaluate_model, format_report
    from ferkit.io_utils import write_json

    loaded = load_evaluated_model(args.model, args.device)  # a bad model file fails before the data is read
    options = {"mode": args.mode} if args.mode else {}
    pre = loaded.preprocess  # read the crops at the model's own size and colour, as its training validation did
    dataset = load_dataset(
        args.dataset, args.split, args.data_root, size=pre.source_size, in_chans=pre.in_chans, **options
    )
    index = stratified_subset(dataset.hard_labels, args.subset, 0)
    if index is not None:
        dataset = dataset.subset(index)
    subset_info = None
    if args.face_subset:
        from ferkit.evaluation.face_subsets import describe, estimate_geometry, select
        from ferkit.transforms.preprocess import match_channels

        geometry = estimate_geometry(match_channels(dataset.images, 1))
        chosen = select(geometry, args.face_subset, pose_deg=args.pose_deg)
        subset_info = {
            "name": args.face_subset,
            "pose_deg": args.pose_deg,
            "of": len(dataset),
            "n": len(chosen),
            **{f"geometry_{k}": v for k, v in describe(geometry).items()},
        }
        print(f"face subset {args.face_subset!r}: {len(chosen)} of {len(dataset)} images")
        if len(chosen) == 0:
            raise ConfigError(f"--face-subset {args.face_subset}: no image of {dataset.name} {dataset.split} qualifies")
        dataset = dataset.subset(chosen)
    result, scores = evaluate_model(
        loaded, dataset, tta=args.tta, device=args.device, batch_size=args.batch_size, return_scores=True
    )
    result["model"] = str(args.model)
    result["model_sha256"] = _model_sha256(args.model)  # which weights were measured, whatever they are called
    if subset_info:
        result["face_subset"] = subset_info
    print(format_report(result))
    if args.perturb:
        from ferkit.evaluation.robustness import evaluate_perturbations, format_perturbations

        try:
            result["perturbations"] = evaluate_perturbations(
                loaded, dataset, args.perturb, result, tta=args.tta, device=args.device, batch_size=args.batch_size
            )
        except ValueError as e:  # an unknown perturbation name
            raise ConfigError(f"--perturb: {e}") from None
        print("\naccuracy under perturbations:\n" + format_perturbations(result["perturbations"]))
    if args.json_out:
        write_json(args.json_out, result)
        print(f"\nmetrics written to {args.json_out}")
    if args.predictions:
        from ferkit.evaluation.evaluate import write_dataset_predictions

        write_dataset_predictions(args.predictions, scores, loaded.labels, dataset)
        print(f"predictions written to {args.predictions}")
    if args.plot:
        from ferkit.evaluation.plots import plot_confusion

        title = f"{args.model} on {dataset.name} {dataset.split} (acc {result['accuracy']:.3f})"
        plot_confusion(result["confusion_matrix"], result["labels"], args.plot, title)
        print(f"confusion matrix saved to {args.plot}")
    if args.plot_reliability:
        from ferkit.evaluation.plots import plot_reliability

        name = f"T = {result['temperature']:.3f}" if result["temperature"] != 1.0 else "uncalibrated (T = 1)"
        title = f"{args.model} on {dataset.name} {dataset.split}: ECE {result['ece']:.3f}, NLL {result['nll']:.3f}"
        plot_reliability({name: result["reliability"]}, args.plot_reliability, title)
        print(f"reliability diagram saved to {args.plot_reliability}")
    return 0


def load_evaluated_model(model: str, device: str = "cpu"):
    """A shipped name / ``.pt`` file (PyTorch), an exported ``.onnx`` file or an ``.onnx`` file with a model spec
    (ONNX Runtime, CPU; the dataset's crops are framed as the spec says, each image being one face)."""
    from pathlib import Path

    from ferkit import pretrained
    from ferkit.errors import ConfigError

    if Path(model).suffix.lower() == ".onnx":
        if device != "cpu":
            raise ConfigError(f"--device {device}: ONNX models are evaluated with ONNX Runtime on the CPU")
        from ferkit.export.onnx_model import load_onnx_model
        from ferkit.inference.classifier import load_classifier, onnx_model_spec

        if onnx_model_spec(model) is not None:  # a third-party model described by its model spec
            from ferkit.inference.spec_classifier import spec_loaded_model

            return spec_loaded_model(load_classifier(model))
        return load_onnx_model(model)
    return pretrained.load(model)


def _model_sha256(model: str) -> str:
    """SHA-256 of the evaluated model's file (a shipped name resolves to its file, which a re-ship replaces)."""
    from ferkit import pretrained
    from ferkit.models.weights import file_sha256

    return file_sha256(pretrained.resolve(model))
