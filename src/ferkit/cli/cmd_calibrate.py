"""``ferkit calibrate --model NAME_OR_FILE --dataset NAME [--split PublicTest] [--output FILE]
[--plot-reliability PNG] [--json OUT]``: fit the temperature and store it in the model file (atomically)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "calibrate",
        help="fit a temperature (calibrated probabilities) and store it in the model file",
        description="Temperature scaling: one scalar T minimising the NLL of softmax(logits / T) on a "
        "labelled split (PublicTest by default). The argmax, hence accuracy, is unchanged.",
    )
    p.add_argument("--model", required=True, help="shipped model name or ferkit model file (.pt)")
    p.add_argument("--dataset", required=True, help="dataset the temperature is fitted on (fer2013, ferplus, ...)")
    p.add_argument("--split", default="PublicTest", help="split (default PublicTest; never the withheld test)")
    p.add_argument("--data-root", help="dataset root (else $FERKIT_DATA)")
    p.add_argument("--mode", help="FERPlus label mode for the ground truth (default majority)")
    p.add_argument("--output", help="write the calibrated model here (default: overwrite --model's file)")
    p.add_argument("--dry-run", action="store_true", help="fit and report only; write no model file")
    p.add_argument("--plot-reliability", metavar="FILE", help="save the before/after reliability diagram PNG here")
    p.add_argument("--json", dest="json_out", help="write the calibration record (with reliability bins) here")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=512)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit import pretrained
    from ferkit.data import load_dataset
    from ferkit.evaluation.calibrate_model import calibrate
    from ferkit.io_utils import write_json
    from ferkit.models.checkpoint import load_model, write_calibration

    source = pretrained.resolve(args.model)
    options = {"mode": args.mode} if args.mode else {}
    dataset = load_dataset(args.dataset, args.split, args.data_root, **options)
    record = calibrate(load_model(source), dataset, device=args.device, batch_size=args.batch_size)
    b, a, c = record["before"], record["after"], record["cross_fitted_2fold"]
    print(
        f"{args.model} on {dataset.name} {dataset.split} (n={record['n']}): temperature {record['temperature']:.4f}\n"
        f"  before  ECE {b['ece']:.4f}  NLL {b['nll']:.4f}\n  after   ECE {a['ece']:.4f}  NLL {a['nll']:.4f}\n"
        f"  2-fold cross-fitted  ECE {c['ece']:.4f}  NLL {c['nll']:.4f}"
    )
    if args.plot_reliability:
        from ferkit.evaluation.plots import plot_reliability

        plot_reliability(
            {
                f"before (T = 1): ECE {b['ece']:.3f}": record["reliability"]["before"],
                f"after (T = {record['temperature']:.2f}): ECE {a['ece']:.3f}": record["reliability"]["after"],
            },
            args.plot_reliability,
            f"{args.model} on {dataset.name} {dataset.split} (n={record['n']})",
        )
        print(f"reliability diagram saved to {args.plot_reliability}")
    if args.json_out:
        write_json(args.json_out, record)
    if not args.dry_run:
        target = args.output or source
        if args.output:  # a calibrated copy; the source file stays as it was
            import shutil

            from ferkit.io_utils import atomic_write

            atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))
        write_calibration(target, {k: v for k, v in record.items() if k != "reliability"})
        print(f"temperature stored in {target}")
    return 0
