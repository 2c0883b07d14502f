"""Package a trained checkpoint as a shipped model: slim weights + summary JSON + confusion matrix + card.

    python lab/tools/ship_model.py --checkpoint runs/ferplus_multitask_long/best.pt --name ferplus \
        --dataset ferplus --config configs/ferplus.yaml --run-dir runs/ferplus_multitask_long

Evaluates on PublicTest (never on the withheld test split) and writes src/ferkit/pretrained/<name>.{pt,json,png}.
Also writes the Markdown card (<name>.md) and the learning curve (<name>_curve.png); ``--notes FILE`` adds a
hand-written "How this run went" section (resumes, machine sharing, what more training would give).
After re-shipping, run ``bash lab/tools/shipped_results.sh`` (with KEEP= for models that did not change): the results
pages about the shipped models (robustness, cross-dataset, face subsets) are measured on their files, and a test
checks that they are.
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
from ferkit.evaluation.calibrate_model import calibrate
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.evaluation.plots import plot_confusion, plot_history, plot_reliability
from ferkit.io_utils import atomic_write, write_json, write_text
from ferkit.models.checkpoint import load_model, write_calibration

OUT = Path(__file__).resolve().parents[2] / "src" / "ferkit" / "pretrained"


def _confusions(result: dict, top: int = 4) -> list[str]:
    cm, labels = result["confusion_matrix"], result["labels"]
    pairs = []
    for i, row in enumerate(cm):
        total = max(1, sum(row))
        for j, v in enumerate(row):
            if i != j and v:
                pairs.append((v / total, labels[i], labels[j], v, total))
    pairs.sort(reverse=True)
    return [f"{t} -> {p}: {f:.1%} of {t} ({v}/{n})" for f, t, p, v, n in pairs[:top]]


def training_data_text(config: dict) -> str:
    """The card's "training data" cell, read from the run's saved config (one head, or the joint heads)."""
    data = (config or {}).get("data", {})
    dataset, mode = data.get("dataset", "ferplus"), data.get("mode", "majority")
    aux = data.get("aux_heads") or []
    split = f"FER2013 `{data.get('train_split', 'Training')}` split (28,709 images)"
    if dataset == "ferplus" and "fer2013" in aux:
        return (
            f"{split}: FERPlus vote distributions for the `ferplus` head ({mode} mode) and the original "
            "FER2013 labels for the `fer2013` head, jointly"
        )
    if dataset == "ferplus":
        what = {
            "majority": "the FERPlus majority-vote label (images without a clear majority left out)",
            "probability": "the FERPlus vote distributions",
        }.get(mode, f"FERPlus votes ({mode} mode)")
        return f"{split}: {what}"
    return f"{dataset} `{data.get('train_split', 'Training')}` split" + (
        f", jointly with {', '.join(aux)}" if aux else ""
    )


def curve_table(history: list[dict], config: dict) -> str:
    """The learning-curve table: the fer2013 head's column only where the run had that head."""
    aux = "val_fer2013_acc" in (history[0] if history else {})
    mode = (config or {}).get("data", {}).get("mode", "majority")
    head = "| epoch | train loss | trainer's PublicTest acc* |" + (" PublicTest acc, fer2013 head |" if aux else "")
    head += " seconds |\n|---|---|---|" + ("---|" if aux else "") + "---|"
    rows = [
        f"| {h['epoch']:.0f} | {h['train_loss']:.3f} | {h.get('val_acc', float('nan')):.4f} |"
        + (f" {h.get('val_fer2013_acc', float('nan')):.4f} |" if aux else "")
        + f" {h['epoch_seconds']:.0f} |"
        for h in history
    ]
    if mode == "probability":
        note = (
            "\\* As tracked by the trainer: the ferplus head is scored on the probability-mode PublicTest (3,553 "
            "images; truth = majority vote, else the top vote), a harder set than the majority-vote protocol above "
            "(3,199 images with a clear majority), hence the lower numbers."
        )
    else:
        note = "\\* As tracked by the trainer, on the same PublicTest protocol as the results above."
    note += (
        ' "seconds" is the training time of each epoch on a 2-core machine that was also used for '
        "development work, so the times vary."
    )
    return head + "\n" + "\n".join(rows) + "\n\n" + note


def write_card(
    path: Path,
    summary: dict,
    results: dict,
    history: list[dict],
    args,
    notes: str,
    train_counts: dict[str, int],
    config: dict | None = None,
) -> None:
    r = results["none"]
    pre = summary["input"]
    rows = "\n".join(
        f"| {k} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
        for k, v in r["per_class"].items()
    )
    ema = float((config or {}).get("ema_decay", 0.0) or 0.0) > 0
    selection = ("EMA of weights, " if ema else "") + "best PublicTest accuracy of this head"
    weak = sorted(r["per_class"].items(), key=lambda kv: kv[1]["recall"])[:3]
    text = f"""# Model card: `{summary["name"]}`

{summary["description"]}

| field | value |
|---|---|
| architecture | `{summary["architecture"]}` (ferkit.models), {summary["params"] / 1e6:.2f}M parameters |
| labels (output order) | {", ".join(summary["labels"])} |
| input | aligned grey face crop {pre["source_size"]}x{pre["source_size"]}, centre crop {pre["input_size"]}x{pre["input_size"]}, \
(x/255 - {pre["mean"][0]}) / {pre["std"][0]}, illumination `{pre["illumination"]}` |
| training data | {training_data_text(config)} |
| selection data | FER2013 `PublicTest` (= FERPlus `FER2013Valid`); the PrivateTest split was never used |
| config | `{summary["config"]}` (`ferkit train --config {summary["config"]}`) |
| epochs | {summary["epochs_run"]} run, weights of epoch {summary["epoch_selected"]} ({selection}) |
| training wall time | {summary["train_seconds"] / 60:.0f} min on a shared 2-core x86-64 CPU (no GPU), PyTorch 2.13 |
| file | `{summary["name"]}.pt`, weights stored in fp16, labels and preprocessing inside |

## PublicTest results (measured on the shipped file)

Command: `ferkit evaluate --model {summary["name"]} --dataset {args.dataset} --split PublicTest --json out.json --plot cm.png`

| metric | value |
|---|---|
| n | {r["n"]} |
| accuracy | {r["accuracy"]:.4f} |
| accuracy with flip TTA (`--tta flip`) | {results["flip"]["accuracy"]:.4f} |
| top-2 accuracy | {r["top2_accuracy"]:.4f} |
| macro-F1 | {r["macro_f1"]:.4f} |

| class | precision | recall | F1 | support |
|---|---|---|---|---|
{rows}

![confusion matrix]({summary["name"]}_confusion.png)

## Known weaknesses
- Lowest recall: {", ".join(f"{k} ({v['recall']:.1%}, {v['support']} test images)" for k, v in weak)}.
  Training images of these classes ({args.dataset} `Training`, hard labels): \
{", ".join(f"{k} {train_counts[k]:,}" for k, _ in weak)} of {sum(train_counts.values()):,}.
- Most frequent confusions: {"; ".join(_confusions(r))}.
- Trained on 48x48 grey, mostly frontal web faces; strong pose, occlusion, low light and children are weaker.
  The face pipeline's alignment mimics FER2013 framing; other crops (tight or loose) lower accuracy.
- Trained for a CPU budget, far below the 200+ GPU epochs of the literature numbers it is compared with.

## Learning curve

{curve_table(history, config)}

![learning curve]({summary["name"]}_curve.png)
{notes}
## Provenance and licence
- FER2013 (ICML 2013 Challenges in Representation Learning, Kaggle) images; FERPlus labels (Microsoft, MIT
  licence). The weights are derived from these data; use them under those terms (research use of FER2013).
- Packaged from commit `{summary["commit_at_packaging"]}` on {summary["packaged"]} by `lab/tools/ship_model.py`.
"""

    write_text(path, text)


CALIBRATION_HEADING = "## Calibrated probabilities"


def calibration_section(name: str, dataset: str, record: dict, flip_accuracy: float) -> str:
    """The card section: temperature, ECE/NLL before/after (and cross-fitted) and the reliability diagram."""
    b, a, c = record["before"], record["after"], record["cross_fitted_2fold"]
    return f"""{CALIBRATION_HEADING}

Probabilities are softmax(logits / T) with T = {record["temperature"]:.4f}, fitted by minimising the NLL on
{record["dataset"]} {record["split"]} (n={record["n"]}, centre view) and stored in `{name}.pt` (and in the ONNX
metadata on export); `EmotionRecognizer`, `ferkit evaluate` and the web service apply it. Dividing the logits by
T > 0 keeps the argmax, so the accuracy above is unchanged{
        "" if flip_accuracy is None else f" (flip TTA averages calibrated probabilities: {flip_accuracy:.4f})"
    }.
Command: `ferkit calibrate --model {name} --dataset {dataset}` (or `python lab/tools/calibrate_shipped.py`).

| probabilities | ECE (15 equal-width bins, top label) | NLL |
|---|---|---|
| raw softmax (T = 1) | {b["ece"]:.4f} | {b["nll"]:.4f} |
| calibrated (T = {record["temperature"]:.3f}), fitted and measured on the same split | {a["ece"]:.4f} | {
        a["nll"]:.4f} |
| calibrated, 2-fold cross-fitted (T fitted on the other half) | {c["ece"]:.4f} | {c["nll"]:.4f} |

{
        "T < 1: the raw softmax was under-confident; calibration sharpens it."
        if record["temperature"] < 1
        else "T > 1: the raw softmax was over-confident; calibration softens it."
    } The cross-fitted row is the honest estimate
for unseen data of this distribution; real photos through the face pipeline are another distribution.

![reliability diagram]({name}_reliability.png)
"""


def put_section(card: str, section: str, heading: str, before: str = "## Known weaknesses") -> str:
    """Replace the card's ``heading`` section with ``section``, or insert it before ``before`` (else append)."""
    if heading in card:
        start = card.index(heading)
        nxt = card.find("\n## ", start + len(heading))
        return card[:start] + section.rstrip("\n") + ("\n" + card[nxt:] if nxt >= 0 else "\n")
    if before in card:
        i = card.index(before)
        return card[:i] + section.rstrip("\n") + "\n\n" + card[i:]
    return card.rstrip("\n") + "\n\n" + section


def apply_calibration(out: Path, name: str, dataset: str, data_root: str | None = None) -> dict:
    """Calibrate the model file ``out/<name>.pt`` on PublicTest; update its file, JSON summary, diagram and card."""
    import json

    weights = out / f"{name}.pt"
    ds = load_dataset(dataset, "PublicTest", data_root)
    record = calibrate(load_model(weights), ds)
    write_calibration(weights, {k: v for k, v in record.items() if k != "reliability"})
    loaded = load_model(weights)
    assert loaded.temperature == record["temperature"]
    flip = evaluate_model(loaded, ds, tta="flip")["accuracy"]
    b, a = record["before"], record["after"]
    plot_reliability(
        {
            f"raw (T = 1): ECE {b['ece']:.3f}": record["reliability"]["before"],
            f"calibrated (T = {record['temperature']:.2f}): ECE {a['ece']:.3f}": record["reliability"]["after"],
        },
        out / f"{name}_reliability.png",
        f"{name} on {dataset} PublicTest (n={record['n']})",
    )
    summary_path = out / f"{name}.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
        summary.update(
            {
                "temperature": record["temperature"],
                "publictest_ece_uncalibrated": round(b["ece"], 4),
                "publictest_nll_uncalibrated": round(b["nll"], 4),
                "publictest_ece": round(a["ece"], 4),
                "publictest_nll": round(a["nll"], 4),
                "publictest_ece_cross_fitted": round(record["cross_fitted_2fold"]["ece"], 4),
                "publictest_accuracy_flip_tta_calibrated": round(flip, 4),
            }
        )
        write_json(summary_path, summary)
    card = out / f"{name}.md"
    if card.is_file():
        write_text(
            card, put_section(card.read_text(), calibration_section(name, dataset, record, flip), CALIBRATION_HEADING)
        )
    return record


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--description", default="")
    ap.add_argument("--data-root")
    ap.add_argument("--out-dir", default=str(OUT), help="where the model files go (default: the package)")
    ap.add_argument("--notes", help="Markdown file: the card's 'How this run went' section")
    args = ap.parse_args(argv)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    notes = ""
    if args.notes:
        notes = "\n## How this run went (for reproduction)\n" + Path(args.notes).read_text().strip() + "\n"

    payload = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    slim = {k: payload[k] for k in ("format", "arch", "arch_kwargs", "labels", "preprocess", "model")}
    # weights stored in fp16 to halve the file; load_state_dict copies them into the fp32 parameters
    slim["model"] = {k: v.half() if v.is_floating_point() else v for k, v in slim["model"].items()}
    slim["config"] = payload.get("config")
    slim["epoch"] = payload.get("epoch")
    atomic_write(out / f"{args.name}.pt", lambda tmp: torch.save(slim, tmp))
    loaded = load_model(out / f"{args.name}.pt")  # numbers are measured on the file that ships
    ds = load_dataset(args.dataset, "PublicTest", args.data_root)
    results = {tta: evaluate_model(loaded, ds, tta=tta) for tta in ("none", "flip")}
    with open(Path(args.run_dir) / "metrics.csv", newline="") as f:  # one row per epoch, numbers only
        history = [{k: float(v) for k, v in row.items() if v} for row in csv.DictReader(f)]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    params = sum(v.numel() for k, v in payload["model"].items() if "running" not in k and "num_batches" not in k)
    best = results["flip"] if results["flip"]["accuracy"] > results["none"]["accuracy"] else results["none"]
    summary = {
        "name": args.name,
        "description": args.description,
        "architecture": payload["arch"],
        "params": params,
        "labels": payload["labels"],
        "input": payload["preprocess"],
        "publictest_accuracy": round(results["none"]["accuracy"], 4),
        "publictest_macro_f1": round(results["none"]["macro_f1"], 4),
        "publictest_accuracy_flip_tta": round(results["flip"]["accuracy"], 4),
        "publictest_n": results["none"]["n"],
        "epoch_selected": payload.get("epoch"),
        "epochs_run": len(history),
        "train_seconds": round(sum(r["epoch_seconds"] for r in history)),
        "config": args.config,
        "commit_at_packaging": commit,
        "packaged": time.strftime("%Y-%m-%d"),
        "per_class_recall": {k: round(v["recall"], 4) for k, v in results["none"]["per_class"].items()},
    }
    write_json(out / f"{args.name}.json", summary)
    train = load_dataset(args.dataset, "Training", args.data_root)
    train_counts = dict(zip(train.labels, map(int, train.class_counts())))
    write_card(out / f"{args.name}.md", summary, results, history, args, notes, train_counts, payload.get("config"))
    apply_calibration(out, args.name, args.dataset, args.data_root)  # temperature, diagram, card section
    plot_history(history, out / f"{args.name}_curve.png")
    write_json(Path(args.run_dir) / f"publictest_{args.name}.json", results)
    plot_confusion(
        results["none"]["confusion_matrix"],
        results["none"]["labels"],
        out / f"{args.name}_confusion.png",
        f"{args.name} on {args.dataset} PublicTest (acc {results['none']['accuracy']:.3f})",
    )
    print(json.dumps(summary, indent=2))
    print("best-TTA accuracy:", best["accuracy"])
    print(
        f"next: KEEP=... bash lab/tools/shipped_results.sh (the results pages about the shipped {args.name} are "
        "measured on its previous file until then)"
    )


if __name__ == "__main__":
    main()
