"""Train a list of configs, evaluate each final model with ferkit's evaluation, write a Markdown results table.

    python lab/tools/run_experiments.py --configs lab/configs/experiments/losses/fer2013_*.yaml \
        --output lab/results/losses_fer2013.md --title "Losses on FER2013" [--perturb occlusion pose] \
        [--set KEY=VALUE ...]

Every run writes ``<out-root>/<folder>_<config>/`` (config.yaml, metrics.csv, final.pt) and is resumed or
reused when the script runs again; configs that resolve to the same training (a baseline listed in several
tables) share one run. Rows report the final-epoch weights (EMA when set) on ``--eval-split``, the main head
and every auxiliary head (multitask configs); ``--perturb`` adds the mean accuracy of each perturbation family.
``--set`` overrides apply to every config (e.g. ``--set epochs=1 data.train_subset=256`` for a smoke run).
``--sweep`` turns one base recipe into several rows: each argument is one override list (``"loss.name=center
loss.params.lambda_center=0.01"``), applied to every config after ``--set``; the row names its overrides.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ferkit.data import load_dataset
from ferkit.data.subsets import stratified_subset
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.io_utils import atomic_write, write_json, write_text
from ferkit.models.checkpoint import load_model, read_file
from ferkit.training.checkpoints import aux_head_payload
from ferkit.training.config import load_config
from ferkit.training.runs import shared_run_dir, train_to_final


def eval_dataset(name: str, split: str, subset: int | None, data_root):
    options = {"mode": "majority"} if name == "ferplus" else {}
    ds = load_dataset(name, split, data_root, **options)
    index = stratified_subset(ds.hard_labels, subset, 0)
    return ds.subset(index) if index is not None else ds


def describe(cfg) -> tuple[str, str]:
    model = cfg.model.name + (f" {json.dumps(cfg.model.kwargs, sort_keys=True)}" if cfg.model.kwargs else "")
    loss = cfg.loss.name + (f" {json.dumps(cfg.loss.params, sort_keys=True)}" if cfg.loss.params else "")
    return model, loss


def rare_recall(result: dict, k: int = 2) -> dict[str, float]:
    """Recall of the k classes with the fewest test images (disgust, contempt on FERPlus): what class
    re-weighting and metric-learning losses are meant to help."""
    present = [(c["support"], name) for name, c in result["per_class"].items() if c["support"] > 0]
    return {name: result["per_class"][name]["recall"] for _, name in sorted(present)[:k]}


def evaluate_row(model_file: Path, dataset, perturb: list[str] | None) -> dict:
    loaded = load_model(model_file)
    result = evaluate_model(loaded, dataset)
    row = {
        "n": result["n"],
        "accuracy": result["accuracy"],
        "macro_f1": result["macro_f1"],
        "params": sum(p.numel() for p in loaded.model.parameters()),
        "rare_recall": rare_recall(result),
    }
    if perturb:
        from ferkit.evaluation.robustness import evaluate_perturbations, family_means

        robust = evaluate_perturbations(loaded, dataset, perturb, result)
        row["perturbations"] = robust
        row["families"] = family_means(robust)
    return row


def run_config(path: Path, overrides: list[str], args, variant: str = "") -> list[dict]:
    """Train (or reuse) one run and score each of its heads; ``variant`` (a sweep's overrides) labels its rows."""
    cfg = load_config(path, overrides)
    cfg.out_dir = str(shared_run_dir(path, cfg, Path(args.out_root)))
    final = train_to_final(cfg, progress=False if not args.progress else None, retrain=args.retrain)
    payload = read_file(final)
    minutes = sum(r.get("epoch_seconds", 0.0) for r in payload.get("history", [])) / 60
    model, loss = describe(cfg)
    heads = [("main", cfg.data.dataset, final)]
    for aux in cfg.data.aux_heads:
        aux_file = final.with_name(f"final_{aux}.pt")
        if not aux_file.is_file():
            atomic_write(aux_file, lambda tmp, a=aux: torch.save(aux_head_payload(payload, a), tmp))
        heads.append((aux, aux, aux_file))
    rows = []
    for head, dataset_name, model_file in heads:
        dataset = eval_dataset(dataset_name, args.eval_split, args.eval_subset, cfg.data.data_root)
        row = {
            "config": f"{path} [{variant}]" if variant else str(path),
            "run": cfg.out_dir,
            "head": head,
            "dataset": dataset_name,
            "model": model,
            "loss": loss,
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "train_minutes": minutes,
            **evaluate_row(model_file, dataset, args.perturb),
        }
        rows.append(row)
        print(
            f"{path.name} [{head}] {dataset_name} {args.eval_split}: accuracy {row['accuracy']:.4f} "
            f"macro-F1 {row['macro_f1']:.4f}",
            flush=True,
        )
    return rows


def seed_summary(rows: list[dict]) -> dict:
    """(config, head) -> seeds, accuracies and macro-F1s of its rows, in row order."""
    groups: dict = {}
    for r in rows:
        g = groups.setdefault((r["config"], r["head"]), {"seeds": [], "accuracy": [], "macro_f1": []})
        g["seeds"].append(r["seed"])
        g["accuracy"].append(r["accuracy"])
        g["macro_f1"].append(r["macro_f1"])
    return groups


def _mean_std(values: list[float]) -> str:
    v = np.asarray(values, np.float64)
    return f"{v.mean():.4f} ± {v.std(ddof=1):.4f}" if len(v) > 1 else f"{v.mean():.4f}"


def markdown(rows: list[dict], args, argv: list[str]) -> str:
    families = list(dict.fromkeys(f for r in rows for f in r.get("families", {})))
    lines = [
        f"# {args.title}",
        "",
        f"Produced by `python lab/tools/run_experiments.py {' '.join(argv)}` on {time.strftime('%Y-%m-%d')}.",
        f"Each row: the final-epoch weights (EMA when the config sets it) of one training run, evaluated on "
        f"{args.eval_split}{f' (stratified subset of {args.eval_subset})' if args.eval_subset else ''}. "
        "The resolved config of each run is `<run>/config.yaml`.",
        "",
    ]
    head = [
        "config",
        "head",
        "dataset",
        "model",
        "loss",
        "epochs",
        "seed",
        "train min",
        "params",
        "n",
        "accuracy",
        "macro-F1",
        "rarest-class recall",
    ]
    head += [f"{f} acc" for f in families]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            f"`{r['config']}`",
            r["head"],
            r["dataset"],
            f"`{r['model']}`",
            f"`{r['loss']}`",
            str(r["epochs"]),
            str(r["seed"]),
            f"{r['train_minutes']:.1f}",
            f"{r['params']:,}",
            str(r["n"]),
            f"{r['accuracy']:.4f}",
            f"{r['macro_f1']:.4f}",
            ", ".join(f"{k} {v:.3f}" for k, v in r.get("rare_recall", {}).items()),
        ] + [f"{r['families'][f]:.4f}" if f in r.get("families", {}) else "-" for f in families]
        lines.append("| " + " | ".join(cells) + " |")
    groups = seed_summary(rows)
    if any(len(g["accuracy"]) > 1 for g in groups.values()):
        lines += [
            "",
            "Over seeds (mean ± sample std):",
            "",
            "| config | head | seeds | accuracy | macro-F1 |",
            "|---|---|---|---|---|",
        ]
        for (config, head), g in groups.items():
            lines.append(
                f"| `{config}` | {head} | {', '.join(map(str, g['seeds']))} | "
                f"{_mean_std(g['accuracy'])} | {_mean_std(g['macro_f1'])} |"
            )
    if args.overrides:
        lines += ["", f"Overrides applied to every config: `{' '.join(args.overrides)}`."]
    for name, *kvs in args.model_overrides:
        lines += ["", f"Overrides applied to configs of model `{name}`: `{' '.join(kvs)}`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", required=True, help="training YAML files, one row (or more) each")
    p.add_argument("--output", required=True, help="Markdown table to write (a .json with all numbers beside it)")
    p.add_argument("--title", default="Results")
    p.add_argument("--out-root", default="runs/experiments")
    p.add_argument("--eval-split", default="PublicTest")
    p.add_argument("--eval-subset", type=int, help="evaluate on a stratified subset (smoke runs only)")
    p.add_argument("--perturb", nargs="+", help="perturbation families/names for robustness columns")
    p.add_argument("--retrain", action="store_true", help="train again even if a finished run exists")
    p.add_argument("--progress", action="store_true")
    p.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="training-config overrides for every config",
    )
    p.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        help="train every config once per seed (rows per seed plus mean ± std); default: the config's",
    )
    p.add_argument(
        "--sweep",
        nargs="+",
        metavar="'KEY=VALUE ...'",
        help="one row per argument: each is a space-separated override list laid on every config "
        "(a sweep over one base recipe), e.g. --sweep 'optim.lr=0.1' 'optim.lr=0.05'",
    )
    p.add_argument(
        "--set-for",
        dest="model_overrides",
        nargs="+",
        action="append",
        default=[],
        metavar="MODEL KEY=VALUE",
        help="overrides only for configs whose model.name is MODEL (repeatable), e.g. "
        "--set-for ran model.kwargs.crop_size=24",
    )
    args = p.parse_args(argv)
    if args.perturb:
        from ferkit.evaluation.perturb import resolve

        resolve(args.perturb)  # fail on a typo now, not after hours of training
    rows = []
    for config in args.configs:
        for variant in args.sweep or [""]:
            model_name = load_config(config, [*args.overrides, *variant.split()]).model.name
            extra = [kv for name, *kvs in args.model_overrides if name == model_name for kv in kvs]
            for seed in args.seeds or [None]:
                seeded = [f"seed={seed}"] if seed is not None else []
                rows += run_config(Path(config), [*args.overrides, *extra, *variant.split(), *seeded], args, variant)
    out = Path(args.output)
    write_text(out, markdown(rows, args, argv))
    write_json(out.with_suffix(".json"), {"argv": argv, "rows": rows})
    print(f"table written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
