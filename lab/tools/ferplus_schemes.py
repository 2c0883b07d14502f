"""The FERPlus paper's four training schemes (MV, CEL, ML, PLD) and online vs offline augmentation, over seeds,
from one command: train each run (resumable), evaluate its last-epoch weights on the whole PublicTest (majority
protocol, plus accepted-label accuracy), compare every scheme with MV on the same seed (`ferkit compare`) and
pooled over seeds, and write a results page.

    PYTHONPATH=src python lab/tools/ferplus_schemes.py --config lab/configs/experiments/ferplus_schemes/base.yaml \
        --seeds 0 1 2 --runs runs/ferplus_schemes --output lab/results/ferplus_schemes.md

A finished run (its eval.json exists) is not trained again; a killed one resumes from its last.pt.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

# arm -> (name in the paper, config overrides)
ARMS = {
    "mv": ("MV: majority voting", ["data.mode=majority"]),
    "cel": ("CEL: cross-entropy loss on the label distribution", ["data.mode=crossentropy"]),
    "ml": ("ML: multi-label learning", ["data.mode=multi_target"]),
    "pld": ("PLD: probabilistic label drawing", ["data.mode=draw"]),
    "mv_offline": (
        "MV, offline augmentation (1 copy + originals, no online augmentation)",
        ["data.mode=majority", "data.offline_augment.copies=1", "data.offline_augment.online=false"],
    ),
}
SCHEMES = ("mv", "cel", "ml", "pld")


def ferkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "ferkit.cli.main", *args]


def run(cmd: list[str], log: Path | None = None) -> None:
    print("+ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    if log is None:
        subprocess.run(cmd, check=True)
        return
    with open(log, "a") as f:
        subprocess.run(cmd, check=True, stdout=f, stderr=subprocess.STDOUT)


def train_and_evaluate(config: str, arm: str, seed: int, runs: Path, extra: list[str]) -> dict:
    out = runs / f"{arm}_seed{seed}"
    result_path = out / "eval.json"
    if not result_path.is_file():
        out.mkdir(parents=True, exist_ok=True)
        overrides = ARMS[arm][1] + [f"seed={seed}", f"data.offline_augment.seed={seed}", f"out_dir={out}", *extra]
        started = time.time()
        run(ferkit("train", "--config", config, "--resume", "--no-progress", *overrides), out / "train.log")
        run(
            ferkit(
                "evaluate",
                "--model",
                str(out / "last.pt"),
                "--dataset",
                "ferplus",
                "--split",
                "PublicTest",
                "--json",
                str(out / "eval.tmp.json"),
                "--predictions",
                str(out / "predictions.csv"),
            ),
            out / "evaluate.log",
        )
        result = json.loads((out / "eval.tmp.json").read_text())
        result["wall_seconds"] = time.time() - started
        result_path.write_text(json.dumps(result))
        (out / "eval.tmp.json").unlink()
    return json.loads(result_path.read_text())


def compare(a: Path, b: Path, out: Path, name_a: str, name_b: str) -> dict:
    if not out.is_file():
        run(
            ferkit("compare", str(a), str(b), "--name-a", name_a, "--name-b", name_b, "--json", str(out)),
            out.with_suffix(".log"),
        )
    return json.loads(out.read_text())


def pooled(runs: Path, arm: str, seeds: list[int]) -> dict | None:
    """B - A over every (seed, image) pair, images resampled whole (an image is one group over its seeds)."""
    from ferkit.evaluation.predictions import pair, read_predictions
    from ferkit.evaluation.significance import paired_comparison

    a_all, b_all, groups = [], [], []
    for seed in seeds:
        pa, pb = runs / f"mv_seed{seed}" / "predictions.csv", runs / f"{arm}_seed{seed}" / "predictions.csv"
        if not (pa.is_file() and pb.is_file()):
            return None
        a, b, g = pair(read_predictions(pa), read_predictions(pb), str(pa), str(pb))
        a_all.append(a), b_all.append(b), groups.extend(g)
    return paired_comparison(np.concatenate(a_all), np.concatenate(b_all), groups)


def mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    v = 100 * np.asarray(values)
    return f"{v.mean():.2f} ± {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v[0]:.2f}"


def recipe_summary(config: str) -> str:
    """The budget a recipe trains at, in words (model, training subset, epochs, optimiser, precision)."""
    cfg = yaml.safe_load(Path(config).read_text()) or {}
    data, optim = cfg.get("data", {}), cfg.get("optim", {})
    subset = data.get("train_subset")
    rows = f"a {subset}-image stratified subset of" if subset else "all of"
    return (
        f"{cfg.get('model', {}).get('name', '?')}, {rows} each scheme's kept FERPlus Training rows, "
        f"{cfg.get('epochs', '?')} epochs, {optim.get('name', '?')}, {cfg.get('precision', 'fp32')}"
    )


def write_page(
    path: Path, results: dict, comparisons: dict, pools: dict, seeds: list[int], command: str, config: str
) -> None:
    lines = [
        "# The FERPlus paper's training schemes at a small CPU budget",
        "",
        "Made by (from the repository root, on two CPU cores):",
        "",
        "```bash",
        "# not runnable: trains 15 runs",
        command,
        "```",
        "",
        f"Recipe: `{config}` ({recipe_summary(config)}). Every number is the last epoch's weights on the whole FERPlus "
        "PublicTest under the majority protocol (`ferkit evaluate`); accepted-label accuracy counts a "
        "prediction right when the emotion holds at least 30% of the image's votes. Seeds: "
        f"{', '.join(map(str, seeds))} (mean ± sd over seeds, sd with n - 1).",
        "",
        "| arm | scheme | PublicTest accuracy % | accepted-label accuracy % | macro-F1 % | runs |",
        "|---|---|---|---|---|---|",
    ]
    for arm, per_seed in results.items():
        acc = [r["accuracy"] for r in per_seed.values()]
        accepted = [r.get("accepted_accuracy", float("nan")) for r in per_seed.values()]
        f1 = [r["macro_f1"] for r in per_seed.values()]
        lines.append(
            f"| `{arm}` | {ARMS[arm][0]} | {mean_sd(acc)} | {mean_sd(accepted)} | {mean_sd(f1)} | {len(acc)} |"
        )
    lines += [
        "",
        "Per seed, paired against MV of the same seed (`ferkit compare`, 95% bootstrap interval of "
        "B - A in points over PublicTest images, two-sided sign test):",
        "",
        "| arm | seed | MV % | arm % | difference (points) | 95% interval | sign-test p |",
        "|---|---|---|---|---|---|---|",
    ]
    for (arm, seed), c in comparisons.items():
        lines.append(
            f"| `{arm}` | {seed} | {c['accuracy_a']:.2f} | {c['accuracy_b']:.2f} | "
            f"{c['difference_points']:+.2f} | [{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] | "
            f"{c['sign_test_p']:.3g} |"
        )
    lines += [
        "",
        "Pooled over seeds (every seed's predictions; an image is resampled with all its seeds):",
        "",
        "| arm | MV % | arm % | difference (points) | 95% interval | sign-test p |",
        "|---|---|---|---|---|---|",
    ]
    for arm, c in pools.items():
        lines.append(
            f"| `{arm}` | {c['accuracy_a']:.2f} | {c['accuracy_b']:.2f} | {c['difference_points']:+.2f} | "
            f"[{c['ci_low']:+.2f}, {c['ci_high']:+.2f}] | {c['sign_test_p']:.3g} |"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    (path.with_suffix(".json")).write_text(
        json.dumps(
            {
                "results": {a: {str(s): r for s, r in v.items()} for a, v in results.items()},
                "per_seed": {f"{a}_seed{s}": c for (a, s), c in comparisons.items()},
                "pooled": pools,
                "command": command,
                "config": config,
            },
            indent=1,
            default=float,
        )
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="lab/configs/experiments/ferplus_schemes/base.yaml")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--runs", default="runs/ferplus_schemes", help="folder of the runs")
    p.add_argument("--output", default="lab/results/ferplus_schemes.md", help="results page (and .json beside)")
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    p.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: write the page from the runs that have finished (seeds with every arm)",
    )
    args = p.parse_args(argv)
    runs = Path(args.runs)
    command = "PYTHONPATH=src python lab/tools/ferplus_schemes.py " + " ".join(
        shlex.quote(a) for a in (argv or sys.argv[1:]) if a != "--report-only"
    )
    results: dict[str, dict[int, dict]] = {arm: {} for arm in args.arms}
    if args.report_only:  # the seeds whose every arm finished
        args.seeds = [s for s in args.seeds if all((runs / f"{a}_seed{s}" / "eval.json").is_file() for a in args.arms)]
    for seed in args.seeds:  # seed by seed: a cut-short session still has balanced arms
        for arm in args.arms:
            results[arm][seed] = train_and_evaluate(args.config, arm, seed, runs, args.set)
            print(f"{arm} seed {seed}: accuracy {results[arm][seed]['accuracy']:.4f}", flush=True)
    comparisons, pools = {}, {}
    if "mv" in args.arms:
        for arm in args.arms:
            if arm == "mv":
                continue
            for seed in args.seeds:
                comparisons[(arm, seed)] = compare(
                    runs / f"mv_seed{seed}" / "predictions.csv",
                    runs / f"{arm}_seed{seed}" / "predictions.csv",
                    runs / f"compare_{arm}_seed{seed}.json",
                    f"mv_seed{seed}",
                    f"{arm}_seed{seed}",
                )
            pool = pooled(runs, arm, args.seeds)
            if pool is not None:
                pools[arm] = pool
    write_page(Path(args.output), results, comparisons, pools, args.seeds, command, args.config)
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
