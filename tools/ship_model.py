"""Package a trained checkpoint as a shipped model: slim weights + summary JSON + confusion matrix + card.

    python tools/ship_model.py --checkpoint runs/ferplus_multitask/best.pt --name ferplus \
        --dataset ferplus --config configs/ferplus.yaml --run-dir runs/ferplus_multitask

Evaluates on PublicTest (never on the withheld test split) and writes src/ferkit/pretrained/<name>.{pt,json,png}.
The Markdown card is written by hand from these numbers (tools/ship_model.py prints a draft).
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import time
from pathlib import Path

import torch

from ferkit.data import load_dataset
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.evaluation.plots import plot_confusion
from ferkit.io_utils import atomic_write, write_json
from ferkit.models.checkpoint import load_model

OUT = Path(__file__).resolve().parents[1] / "src" / "ferkit" / "pretrained"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--description", default="")
    ap.add_argument("--data-root")
    args = ap.parse_args()

    payload = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    slim = {k: payload[k] for k in ("format", "arch", "arch_kwargs", "labels", "preprocess", "model")}
    # weights stored in fp16 to halve the file; load_state_dict copies them into the fp32 parameters
    slim["model"] = {k: v.half() if v.is_floating_point() else v for k, v in slim["model"].items()}
    slim["config"] = payload.get("config")
    slim["epoch"] = payload.get("epoch")
    atomic_write(OUT / f"{args.name}.pt", lambda tmp: torch.save(slim, tmp))
    loaded = load_model(OUT / f"{args.name}.pt")  # numbers are measured on the file that ships
    ds = load_dataset(args.dataset, "PublicTest", args.data_root)
    results = {tta: evaluate_model(loaded, ds, tta=tta) for tta in ("none", "flip")}
    history = list(csv.DictReader(open(Path(args.run_dir) / "metrics.csv")))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    params = sum(v.numel() for k, v in payload["model"].items() if "running" not in k and "num_batches" not in k)
    best = results["flip"] if results["flip"]["accuracy"] > results["none"]["accuracy"] else results["none"]
    summary = {
        "name": args.name, "description": args.description, "architecture": payload["arch"],
        "params": params, "labels": payload["labels"], "input": payload["preprocess"],
        "publictest_accuracy": round(results["none"]["accuracy"], 4),
        "publictest_macro_f1": round(results["none"]["macro_f1"], 4),
        "publictest_accuracy_flip_tta": round(results["flip"]["accuracy"], 4),
        "publictest_n": results["none"]["n"], "epoch_selected": payload.get("epoch"),
        "epochs_run": len(history), "train_seconds": round(sum(float(r["epoch_seconds"]) for r in history)),
        "config": args.config, "commit_at_packaging": commit, "packaged": time.strftime("%Y-%m-%d"),
        "per_class_recall": {k: round(v["recall"], 4) for k, v in results["none"]["per_class"].items()},
    }
    write_json(OUT / f"{args.name}.json", summary)
    write_json(Path(args.run_dir) / f"publictest_{args.name}.json", results)
    plot_confusion(results["none"]["confusion_matrix"], results["none"]["labels"], OUT / f"{args.name}_confusion.png",
                   f"{args.name} on {args.dataset} PublicTest (acc {results['none']['accuracy']:.3f})")
    print(json.dumps(summary, indent=2))
    print("best-TTA accuracy:", best["accuracy"])


if __name__ == "__main__":
    main()
