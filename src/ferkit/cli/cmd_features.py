"""``ferkit features --model M --dataset D --split S --output feats.npz`` (penultimate features for classical
heads, see lab/tools/classical_heads.py)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("features", help="save a model's penultimate features of a dataset split (.npz)")
    p.add_argument("--model", default="ferplus", help="shipped model name or model/checkpoint file")
    p.add_argument("--dataset", required=True, help="dataset name (fer2013, ferplus, ckplus, ...)")
    p.add_argument("--split", default="Training", help="split name (default Training)")
    p.add_argument("--data-root", help="dataset root (else $FERKIT_DATA)")
    p.add_argument("--mode", help="FERPlus label mode (default majority)")
    p.add_argument("--subset", type=int, help="a stratified random subset of this size")
    p.add_argument("--output", required=True, help="output .npz file")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=512)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ferkit import pretrained
    from ferkit.data import load_dataset
    from ferkit.data.subsets import stratified_subset
    from ferkit.evaluation.features import save_features

    options = {"mode": args.mode} if args.mode else {}
    dataset = load_dataset(args.dataset, args.split, args.data_root, **options)
    index = stratified_subset(dataset.hard_labels, args.subset, 0)
    if index is not None:
        dataset = dataset.subset(index)
    loaded = pretrained.load(args.model)
    path = save_features(args.output, loaded, dataset, str(args.model), args.device, args.batch_size)
    print(f"{len(dataset)} x {loaded.model.num_features} features of {dataset.name} {dataset.split} -> {path}")
    return 0
