"""What the zoo table reads from one run: its folder, or the archived record of a run whose folder is gone.

A run folder ``<row>_s<seed>/`` holds zoo_run.json (command, hardware, wall time, ONNX ms/face),
eval_<head>_{none,flip}.json (PublicTest accuracy, macro-F1, per-class recall, ECE) written by lab/tools/zoo_run.py,
metrics.csv (selected and last epoch), config.yaml and best_fp16.pt (parameters, MMACs); an archived record
(lab/tools/zoo_archive.py) holds the same files less the weights, with cost.json instead.
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
DEFAULT_ARCHIVE = ROOT / "lab" / "results" / "zoo_runs"  # lab/tools/zoo_archive.py: runs whose folders are gone
ARCHIVE = DEFAULT_ARCHIVE  # what run_folder() reads; zoo_table.main() sets it from --archive


def run_folder(runs_root: Path, name: str) -> Path:
    """A run's folder under ``runs_root``; its archived record (lab/tools/zoo_archive.py) when only that survives."""
    live = runs_root / name
    if (live / "zoo_run.json").is_file() or not (ARCHIVE / name / "zoo_run.json").is_file():
        return live
    return ARCHIVE / name


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
    stopped_early = bool(patience) and last - main_best >= patience
    return {
        "selected_epoch": int(best["epoch"]),
        "selected_val_acc": best[key],
        "last_epoch": last,
        "last_val_acc": rows[-1][key],
        "epochs_run": len(rows),
        "epochs_planned": saved.get("epochs"),
        "early_stop_patience": patience,
        "stopped_early": stopped_early,
        "finished": not saved.get("epochs") or last >= saved["epochs"] or stopped_early,
    }


def epoch_text(r: dict) -> str:
    """ "selected/last", with "of N, partial" while a run has not reached its planned epochs (a budget stop) and
    "of N, early stop" when it finished by its early-stopping patience (the main head's selection)."""
    text = f"{r.get('selected_epoch', '-')}/{r.get('last_epoch', '-')}"
    planned, last = r.get("epochs_planned"), r.get("last_epoch")
    if r.get("stale"):
        return f"{text}, still training; scores are of an earlier slice"
    if planned and last and last < planned:
        text += (
            f" of {planned}, early stop (patience {r['early_stop_patience']})"
            if r.get("stopped_early")
            else f" of {planned}, partial"
        )
    return text


def model_cost(weights: Path) -> dict:
    """Parameters and MMACs of the run's architecture at its input size."""
    if not weights.is_file():
        return {}
    from bench_models import count_macs

    from ferkit.models.checkpoint import load_model

    loaded = load_model(weights)
    pre = loaded.preprocess
    return {
        "params": sum(p.numel() for p in loaded.model.parameters()),
        "mmacs": count_macs(loaded.model, pre.input_size, pre.in_chans) / 1e6,
    }


def run_numbers(run: Path, head: str = "main") -> dict | None:
    """Everything the table needs from one run folder, or None when it has no evaluation."""
    single, flip = _json(run / f"eval_{head}_none.json"), _json(run / f"eval_{head}_flip.json")
    meta = _json(run / "zoo_run.json")
    if not single or not meta:
        return None
    rarest = min(single["per_class"].items(), key=lambda kv: kv[1]["support"])
    weights = run / ("best_fp16.pt" if head == "main" else f"best_{head}_fp16.pt")
    cost = model_cost(weights) or (_json(run / "cost.json") or {}).get(head, {})  # an archived run: no weights
    return {
        "acc": single["accuracy"],
        "acc_flip": flip["accuracy"] if flip else None,
        "macro_f1": single["macro_f1"],
        "n": single["n"],
        "ece": single.get("ece"),
        "rarest": rarest[0],
        "rarest_recall": rarest[1]["recall"],
        "onnx_ms": meta.get("onnx_ms_per_face"),
        "hardware": meta.get("hardware"),
        "wall_min": meta.get("wall_seconds", 0) / 60,
        "command": meta.get("command"),
        "slices": len(meta.get("slices") or [meta]),
        # trained further since it was scored (a slice still running): the scores are of an earlier best
        "stale": (run / "metrics.csv").is_file()
        and (run / "metrics.csv").stat().st_mtime > (run / f"eval_{head}_none.json").stat().st_mtime + 1,
        **epochs(run, "val_acc" if head == "main" else f"val_{head}_acc"),
        **cost,
    }


def pct(values: list[float]) -> str:
    """Percentages over a row's seeds: the one value, mean +- std, or "-" when there is none."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} +- {100 * statistics.stdev(values):.2f}"


def num(values: list, fmt: str) -> str:
    """The mean over a row's seeds in ``fmt``, or "-" when there is none."""
    values = [v for v in values if v is not None]
    return format(statistics.mean(values), fmt) if values else "-"
