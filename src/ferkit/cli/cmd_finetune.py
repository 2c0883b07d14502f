"""``ferkit finetune --config lab/configs/experiments/finetune/X.yaml [--folds 0 1 ...] [--output RESULTS.md]
[key=value ...]``: multi-stage fine-tuning with subject-independent k-fold CV, reporting mean +- std accuracy."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="multi-stage fine-tuning with subject-independent k-fold cross-validation",
        description="Runs every stage of a fine-tuning config on each fold (train<k> -> fold<k>). "
        "Overrides (key=value) are training-config keys applied to every stage.",
    )
    p.add_argument("--config", required=True, help="fine-tuning YAML (see lab/configs/experiments/finetune/)")
    p.add_argument(
        "overrides", nargs="*", metavar="KEY=VALUE", help="training-config overrides for every stage (applied last)"
    )
    p.add_argument("--folds", nargs="+", type=int, help="run only these folds (default: all)")
    p.add_argument(
        "--pretrained",
        help="shipped model name (fer2013, ferplus) or model file stage 0 starts from (overrides the config's)",
    )
    p.add_argument("--out-dir", help="output folder (overrides out_dir)")
    p.add_argument("--output", help="also write the Markdown results table here")
    p.add_argument("--title", default="Fine-tuning, subject-independent CV")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit import pretrained
    from ferkit.io_utils import write_text
    from ferkit.training.finetune import load_finetune_config, markdown, run_cv

    ft = load_finetune_config(args.config, args.overrides)
    if args.pretrained:
        ft.pretrained = args.pretrained
    if ft.pretrained:  # a shipped model name (or a file path) -> the file; a missing one fails here, before training
        ft.pretrained = str(pretrained.resolve(ft.pretrained))
    if args.out_dir:
        ft.out_dir = args.out_dir
    result = run_cv(ft, args.folds, progress=None if args.progress else False)
    for r in result["per_fold"]:
        print(f"fold {r['fold']}: n={r['n']} accuracy {r['accuracy']:.4f} macro-F1 {r['macro_f1']:.4f}")
    print(
        f"accuracy {result['accuracy_mean']:.4f} +- {result['accuracy_std']:.4f} over {result['folds']} folds "
        f"(pooled {result['pooled_accuracy']:.4f}); results in {ft.out_dir}/cv_results.json"
    )
    if args.output:
        write_text(args.output, markdown(result, args.title))
        print(f"table written to {args.output}")
    return 0
