"""Generate docs/results/zoo.md from the zoo's run folders (no hand-typed numbers).

    python tools/zoo_table.py --runs-root runs/zoo [--output docs/results/zoo.md]

Reads configs/zoo/zoo.yaml for the rows and their published references, and from each run folder
``<row>_s<seed>/``: zoo_run.json (command, hardware, wall time, ONNX ms/face), eval_<head>_{none,flip}.json
(PublicTest accuracy, macro-F1, per-class recall, ECE) written by tools/zoo_run.py, metrics.csv (selected and
last epoch) and best_fp16.pt (parameters, MMACs). Rows with several seeds show mean +- std and the recall of the
rarest PublicTest class. A row without a finished run says so instead of showing a number.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def epochs(run: Path, key: str = "val_acc") -> dict:
    """Selected epoch (best validation accuracy ``key``, what best*.pt holds), its accuracy, last epoch and its
    accuracy (``val_acc``: the main head; ``val_<head>_acc``: an auxiliary head)."""
    path = run / "metrics.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(f)]
    rows = [r for r in rows if key in r]
    if not rows:
        return {}
    best = max(rows, key=lambda r: r[key])
    config = run / "config.yaml"
    saved = yaml.safe_load(config.read_text()) if config.is_file() else {}
    patience, last = saved.get("early_stop_patience"), int(rows[-1]["epoch"])
    main_best = int(max((r for r in rows if "val_acc" in r), key=lambda r: r["val_acc"], default=best)["epoch"])
    return {"selected_epoch": int(best["epoch"]), "selected_val_acc": best[key], "last_epoch": last,
            "last_val_acc": rows[-1][key], "epochs_run": len(rows), "epochs_planned": saved.get("epochs"),
            "early_stop_patience": patience, "stopped_early": bool(patience) and last - main_best >= patience}


def epoch_text(r: dict) -> str:
    """"selected/last", with "of N, partial" while a run has not reached its planned epochs (a budget stop) and
    "of N, early stop" when it finished by its early-stopping patience (the main head's selection)."""
    text = f"{r.get('selected_epoch', '-')}/{r.get('last_epoch', '-')}"
    planned, last = r.get("epochs_planned"), r.get("last_epoch")
    if planned and last and last < planned:
        early = r.get("stopped_early")
        text += f" of {planned}, early stop (patience {r['early_stop_patience']})" if early else f" of {planned}, partial"
    return text


def model_cost(weights: Path) -> dict:
    """Parameters and MMACs of the run's architecture at its input size."""
    if not weights.is_file():
        return {}
    from bench_models import count_macs

    from ferkit.models.checkpoint import load_model

    loaded = load_model(weights)
    pre = loaded.preprocess
    return {"params": sum(p.numel() for p in loaded.model.parameters()),
            "mmacs": count_macs(loaded.model, pre.input_size, pre.in_chans) / 1e6}


def run_numbers(run: Path, head: str = "main") -> dict | None:
    """Everything the table needs from one run folder, or None when it has no evaluation."""
    single, flip = _json(run / f"eval_{head}_none.json"), _json(run / f"eval_{head}_flip.json")
    meta = _json(run / "zoo_run.json")
    if not single or not meta:
        return None
    rarest = min(single["per_class"].items(), key=lambda kv: kv[1]["support"])
    weights = run / ("best_fp16.pt" if head == "main" else f"best_{head}_fp16.pt")
    return {"acc": single["accuracy"], "acc_flip": flip["accuracy"] if flip else None, "macro_f1": single["macro_f1"],
            "n": single["n"], "ece": single.get("ece"), "rarest": rarest[0], "rarest_recall": rarest[1]["recall"],
            "onnx_ms": meta.get("onnx_ms_per_face"), "hardware": meta.get("hardware"),
            "wall_min": meta.get("wall_seconds", 0) / 60, "command": meta.get("command"),
            **epochs(run, "val_acc" if head == "main" else f"val_{head}_acc"), **model_cost(weights)}


def _pct(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} +- {100 * statistics.stdev(values):.2f}"


def _num(values: list, fmt: str) -> str:
    values = [v for v in values if v is not None]
    return format(statistics.mean(values), fmt) if values else "-"


def row_lines(row: dict, runs_root: Path) -> tuple[list[str], list[str]]:
    """Table lines for a zoo row (main head, then every auxiliary head) and its notes."""
    lines, notes = [], []
    heads = [("main", row["eval"])] + list((row["eval"].get("aux") or {}).items())
    seeds = row.get("seeds", [0])
    for head, spec in heads:
        ref = (row.get("reference") if head == "main" else spec.get("reference")) or {}
        ref_text = f"{ref['value']:.2f}%" if ref.get("value") is not None else "n/a"
        runs = [run_numbers(runs_root / f"{row['name']}_s{s}", head) for s in seeds]
        done = [r for r in runs if r]
        label = row["name"] + ("" if head == "main" else f" ({head} head)")
        if not done:
            lines.append(f"| {label} | {spec['dataset']} | no finished run | | | | | | | | | {ref_text} |")
            continue
        seeds_note = f" ({len(done)}/{len(seeds)} seeds)" if len(seeds) > 1 else ""
        lines.append(
            f"| {label}{seeds_note} | {spec['dataset']} | {_pct([r['acc'] for r in done])} | "
            f"{_pct([r['acc_flip'] for r in done])} | {_num([r['macro_f1'] for r in done], '.3f')} | "
            f"{_pct([r['rarest_recall'] for r in done])} ({done[0]['rarest']}) | "
            f"{_num([r.get('params', 0) / 1e6 if r.get('params') else None for r in done], '.3f')} | "
            f"{_num([r.get('mmacs') for r in done], '.1f')} | {_num([r['onnx_ms'] for r in done], '.2f')} | "
            f"{'; '.join(epoch_text(r) for r in done)} | "
            f"{_pct([r.get('last_val_acc') for r in done])} | {ref_text} |")
        if head == "main":
            r0 = done[0]
            notes.append(f"- **{row['name']}**: {r0['hardware']}, {_num([r['wall_min'] for r in done], '.1f')} min "
                         f"wall per run; `{r0['command']}`. Reference: {ref.get('metric', '')}; {ref.get('source', '')}.")
    return lines, notes


def render(manifest: Path, runs_root: Path) -> str:
    rows = yaml.safe_load(manifest.read_text())["rows"]
    table, notes = [], []
    for row in rows:
        t, n = row_lines(row, runs_root)
        table += t
        notes += n
    return "\n".join([
        "# Model zoo: reproductions of the seed systems and papers",
        "",
        f"Generated by `python tools/zoo_table.py --runs-root {runs_root}` from the run folders of "
        "`tools/zoo_run.py` (configs in `configs/zoo/`, rows and references in `configs/zoo/zoo.yaml`). "
        "Accuracy is on FER2013 PublicTest (FERPlus: majority-vote protocol); PrivateTest is withheld. "
        "\"selected/last epoch\" is the epoch whose weights are scored (best PublicTest accuracy during training) "
        "and the last epoch run (\"of N, partial\": the run stopped at its time budget before its N epochs and "
        "continues with `--resume`; \"of N, early stop\": the run finished by its recipe's early-stopping "
        "patience); \"last-epoch acc\" is the trainer's PublicTest accuracy at that last epoch. "
        "ONNX ms/face: ONNX Runtime, one thread, batch 1, on the machine that ran the row. The reference is what "
        "the cited work reports on its own protocol, printed beside ours, not re-measured.",
        "",
        "| row | data | PublicTest acc % | flip TTA % | macro-F1 | rarest-class recall % | params (M) | MMACs | "
        "ONNX ms/face | selected/last epoch | last-epoch acc % | published |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *table,
        "",
        "## Runs and sources",
        "",
        *notes,
        "",
    ])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", default=str(ROOT / "configs" / "zoo" / "zoo.yaml"))
    ap.add_argument("--runs-root", default="runs/zoo")
    ap.add_argument("--output", default=str(ROOT / "docs" / "results" / "zoo.md"))
    args = ap.parse_args(argv)
    from ferkit.io_utils import write_text

    write_text(args.output, render(Path(args.manifest), Path(args.runs_root)))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
