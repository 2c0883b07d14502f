"""``ferkit train --config configs/X.yaml [key=value ...] [--resume]``"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a YAML config",
        description="Train a model. Overrides are dotted keys, e.g. optim.lr=0.05 epochs=10.",
    )
    p.add_argument("--config", help="YAML config file (see configs/)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--data-root", help="dataset root (else $FERKIT_DATA)")
    p.add_argument("--out-dir", help="output folder (overrides out_dir)")
    p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (per-epoch lines only)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit.training.config import load_config
    from ferkit.training.trainer import train

    overrides = list(args.overrides)
    if args.data_root:
        overrides.append(f"data.data_root={args.data_root}")
    if args.out_dir:
        overrides.append(f"out_dir={args.out_dir}")
    cfg = load_config(args.config, overrides)
    state = train(cfg, resume=args.resume, progress=False if args.no_progress else None)
    best = ", ".join(f"{k}={v:.4f}" for k, v in state.best.items())
    print(f"finished {state.epoch} epochs in {cfg.out_dir}; best validation accuracy: {best}")
    return 0
