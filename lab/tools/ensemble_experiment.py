"""Ensembles of trained members vs the members alone, as a Markdown table.

    python lab/tools/ensemble_experiment.py --configs lab/configs/experiments/ensemble/member_*.yaml \
        --output lab/results/ensembles_fer2013.md [--set KEY=VALUE ...]

Members are trained (or reused) with lab/tools/run_experiments.py's run folders. Every member config must train
on the same stratified ``data.train_subset`` of FER2013 Training with the same seed; the rest of Training is
held out and used to fit the weighted average and the feature-level head, never the reported split. Rows:
each member, majority vote, simple average, weighted average, a hierarchical committee (members split into
two committees in config order) and the feature-level ensemble; all on ``--eval-split``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from ferkit.data import ArrayDataset, load_dataset
from ferkit.data.subsets import stratified_subset
from ferkit.errors import ConfigError
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.io_utils import write_json, write_text
from ferkit.models.checkpoint import LoadedModel, load_model, save_model
from ferkit.models.ensemble import build_ensemble
from ferkit.training.config import load_config
from ferkit.training.ensemble_fit import fit_ensemble
from ferkit.training.runs import shared_run_dir, train_to_final


def held_out(cfgs) -> ArrayDataset:
    """The Training images no member trained on: the complement of the members' common stratified subset."""
    keys = {(c.data.dataset, c.data.train_split, c.data.train_subset, c.seed) for c in cfgs}
    if len(keys) != 1:
        raise ConfigError(f"members must share dataset, train_split, train_subset and seed; got {sorted(keys)}")
    dataset, split, subset, seed = keys.pop()
    if subset is None:
        raise ConfigError("members train on all of the split: set data.train_subset to hold data out")
    full = load_dataset(dataset, split, cfgs[0].data.data_root)
    used = stratified_subset(full.hard_labels, subset, seed)
    rest = np.setdiff1d(np.arange(len(full)), used)
    return full.subset(rest)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", required=True, help="member training configs (at least two)")
    p.add_argument("--output", required=True)
    p.add_argument("--title", default="Ensembles on FER2013")
    p.add_argument("--out-root", default="runs/experiments")
    p.add_argument("--eval-split", default="PublicTest")
    p.add_argument("--eval-subset", type=int)
    p.add_argument("--fit-subset", type=int, help="use only this many held-out images for fitting (smoke runs)")
    p.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    if len(args.configs) < 2:
        raise SystemExit("need at least two member configs")
    cfgs, files = [], []
    for path in args.configs:
        cfg = load_config(path, args.overrides)
        cfg.out_dir = str(shared_run_dir(Path(path), cfg, Path(args.out_root)))
        files.append(train_to_final(cfg))
        cfgs.append(cfg)
    members: list[LoadedModel] = [load_model(f) for f in files]
    fit = held_out(cfgs)
    if args.fit_subset:
        fit = fit.subset(stratified_subset(fit.hard_labels, args.fit_subset, 0))
    test = load_dataset(cfgs[0].data.dataset, args.eval_split, cfgs[0].data.data_root)
    if args.eval_subset:
        test = test.subset(stratified_subset(test.hard_labels, args.eval_subset, 0))
    half = (len(members) + 1) // 2
    variants = [
        ("vote", "decision", "vote", None),
        ("mean", "decision", "mean", None),
        ("weighted", "decision", "weighted", None),
        ("hierarchical", "decision", "hierarchical", [list(range(half)), list(range(half, len(members)))]),
        ("feature", "feature", "mean", None),
    ]
    rows = [{"name": f"member `{Path(c).stem}`", **_score(m, test)} for c, m in zip(args.configs, members)]
    out_dir = Path(args.out_root) / "ensembles"
    for name, mode, method, groups in variants:
        ens = build_ensemble(members, mode=mode, method=method, groups=groups)
        report = fit_ensemble(ens, fit) if (mode == "feature" or method == "weighted") else {}
        path = save_model(
            out_dir / f"{name}.pt", ens, ens.labels, ens.preprocess, arch_kwargs=ens.arch_kwargs(), ensemble=report
        )
        row = {"name": f"ensemble: {name}", "file": str(path), **_score(load_model(path), test)}
        if "weights" in report:
            row["weights"] = report["weights"]
        rows.append(row)
        print(f"{row['name']}: accuracy {row['accuracy']:.4f}", flush=True)
    lines = [
        f"# {args.title}",
        "",
        f"Produced by `python lab/tools/ensemble_experiment.py {' '.join(argv)}` on "
        f"{time.strftime('%Y-%m-%d')}. Weights and the feature head were fitted on {len(fit)} held-out "
        f"{cfgs[0].data.dataset} {cfgs[0].data.train_split} images no member trained on; every row is scored "
        f"on {test.name} {test.split} (n={len(test)}).",
        "",
        "| model | accuracy | macro-F1 | fitted weights |",
        "|---|---:|---:|---|",
    ]
    for r in rows:
        w = ", ".join(f"{v:.2f}" for v in r.get("weights", [])) or "-"
        lines.append(f"| {r['name']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {w} |")
    write_text(args.output, "\n".join(lines) + "\n")
    write_json(Path(args.output).with_suffix(".json"), {"argv": argv, "rows": rows})
    print(f"table written to {args.output}")
    return 0


def _score(loaded: LoadedModel, dataset) -> dict:
    r = evaluate_model(loaded, dataset)
    return {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "n": r["n"]}


if __name__ == "__main__":
    sys.exit(main())
