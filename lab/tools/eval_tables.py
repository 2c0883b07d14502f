"""Markdown tables from ``ferkit evaluate --json`` files: robustness (``--perturb``) side by side, or a
cross-dataset summary.

    python lab/tools/eval_tables.py robustness lab/results/robustness_ferplus.json lab/results/robustness_fer2013.json \
        --output lab/results/robustness.md
    python lab/tools/eval_tables.py cross lab/results/cross_*.json --output lab/results/cross_dataset.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ferkit.io_utils import write_text


def _load(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        d = json.loads(Path(p).read_text())
        d["_file"] = p
        out.append(d)
    return out


def _what(d: dict) -> str:
    return f"`{d.get('model', '?')}` on {d['dataset']} {d['split']}"


def robustness(results: list[dict]) -> list[str]:
    missing = [r["_file"] for r in results if "perturbations" not in r]
    if missing:
        raise SystemExit(f"no 'perturbations' in {', '.join(missing)}: run ferkit evaluate with --perturb")
    names = [row["name"] for row in results[0]["perturbations"]["results"]]
    lines = [
        "Accuracy on the perturbed test crops (change from clean in brackets). Perturbations act on the "
        "48x48 crops before the model's own preprocessing; regions follow the FER2013 face template "
        "(`ferkit.evaluation.perturb`).",
        "",
        "| perturbation | family | " + " | ".join(_what(r) for r in results) + " |",
        "|---|---|" + "---:|" * len(results),
        "| clean | - | " + " | ".join(f"{r['perturbations']['clean']['accuracy']:.4f}" for r in results) + " |",
    ]
    by_name = [{row["name"]: row for row in r["perturbations"]["results"]} for r in results]
    for name in names:
        family = by_name[0][name]["family"]
        cells = []
        for rows in by_name:
            row = rows.get(name)
            cells.append(f"{row['accuracy']:.4f} ({row['delta_accuracy']:+.4f})" if row else "-")
        lines.append(f"| {name} | {family} | " + " | ".join(cells) + " |")
    return lines


def cross(results: list[dict]) -> list[str]:
    lines = [
        "Each model is scored on the classes it shares with the target dataset (labels matched by name); "
        "images of the target's other classes are dropped and counted.",
        "",
        "| model | target dataset | split | shared labels | n scored | n dropped | accuracy | macro-F1 | "
        "faces not detected |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| `{r.get('model', '?')}` | {r['dataset']} | {r['split']} | {len(r['labels'])} | {r['n']} | "
            f"{r.get('n_dropped', 0)} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
            f"{r.get('faces_not_detected', 'n/a (crops)')} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("kind", choices=["robustness", "cross"])
    p.add_argument("files", nargs="+", help="ferkit evaluate --json outputs")
    p.add_argument("--output", required=True)
    p.add_argument("--title")
    args = p.parse_args(argv)
    results = _load(args.files)
    title = (
        args.title
        or {"robustness": "Robustness to synthetic perturbations", "cross": "Cross-dataset evaluation"}[args.kind]
    )
    body = robustness(results) if args.kind == "robustness" else cross(results)
    lines = [
        f"# {title}",
        "",
        f"Tabulated by `python lab/tools/eval_tables.py {' '.join(argv)}` on "
        f"{time.strftime('%Y-%m-%d')} from `ferkit evaluate --json` files (commands in `docs/methods.md`).",
        "",
        *body,
    ]
    write_text(args.output, "\n".join(lines) + "\n")
    print(f"table written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
