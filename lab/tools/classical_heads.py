"""Classical heads (SVM, random forest, logistic regression) on a network's penultimate features vs its own
softmax head, as a Markdown table.

    ferkit features --model M --dataset fer2013 --split Training --output feats_train.npz
    ferkit features --model M --dataset fer2013 --split PublicTest --output feats_test.npz
    python lab/tools/classical_heads.py --train feats_train.npz --test feats_test.npz \
        --output lab/results/classical_heads_fer2013.md [--heads svm random_forest logistic_regression]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ferkit.data import ArrayDataset
from ferkit.data.subsets import stratified_subset
from ferkit.errors import ConfigError
from ferkit.evaluation.classical import HEADS, evaluate_head, fit_head
from ferkit.evaluation.evaluate import evaluate_scores
from ferkit.evaluation.features import load_features
from ferkit.io_utils import write_json, write_text


def softmax_baseline(f: dict) -> dict:
    """The network's own head on the same samples (labels aligned by name, as ferkit evaluate does)."""
    z = f["logits"] - f["logits"].max(1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    ds = ArrayDataset(
        images=np.zeros((len(probs), 1, 1), np.uint8),
        targets=f["targets"],
        labels=f["labels"],
        name=f["dataset"],
        split=f["split"],
    )
    return evaluate_scores(probs, f["model_labels"], ds)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--train", required=True, help="features .npz to fit on (ferkit features)")
    p.add_argument("--test", required=True, help="features .npz to score on")
    p.add_argument(
        "--heads", nargs="+", default=["linear_svm", "svm", "random_forest", "logistic_regression"], choices=HEADS
    )
    p.add_argument("--train-subset", type=int, help="fit every head on a stratified subset of N training samples")
    p.add_argument(
        "--svm-subset",
        type=int,
        help="fit the RBF SVM alone on a stratified subset of N (its fit time grows with N squared)",
    )
    p.add_argument("--output", required=True)
    p.add_argument("--title", default="Classical heads on CNN features")
    args = p.parse_args(argv)
    train, test = load_features(args.train), load_features(args.test)
    if train["labels"] != test["labels"] or train["model"] != test["model"]:
        raise ConfigError("train and test features must come from the same model and label set")
    x, y = train["features"], train["targets"]
    if args.train_subset:
        keep = stratified_subset(y, args.train_subset, 0)
        if keep is not None:
            x, y = x[keep], y[keep]
    rows = [
        {
            "head": "network softmax head (trained with the network)",
            **_pick(softmax_baseline(test)),
            "fit_n": None,
            "fit_seconds": 0.0,
        }
    ]
    for name in args.heads:
        hx, hy = x, y
        if name == "svm" and args.svm_subset:
            keep = stratified_subset(y, args.svm_subset, 0)
            if keep is not None:
                hx, hy = x[keep], y[keep]
        start = time.time()
        est = fit_head(name, hx, hy)
        seconds = time.time() - start
        rows.append(
            {
                "head": name,
                **_pick(evaluate_head(est, test["features"], test["targets"], test["labels"])),
                "fit_n": len(hx),
                "fit_seconds": seconds,
            }
        )
        print(f"{name}: accuracy {rows[-1]['accuracy']:.4f} ({seconds:.0f} s to fit)", flush=True)
    lines = [
        f"# {args.title}",
        "",
        f"Produced by `python lab/tools/classical_heads.py {' '.join(argv)}` on "
        f"{time.strftime('%Y-%m-%d')}: features of `{train['model']}` ({x.shape[1]} dims), fitted on "
        f"{len(x)} {train['dataset']} {train['split']} samples, scored on {test['dataset']} {test['split']}.",
        "",
        "| head | fitted on | n | accuracy | macro-F1 | fit s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['head']} | {r['fit_n'] if r['fit_n'] is not None else '-'} | {r['n']} | {r['accuracy']:.4f} | "
        f"{r['macro_f1']:.4f} | {r['fit_seconds']:.0f} |"
        for r in rows
    ]
    write_text(args.output, "\n".join(lines) + "\n")
    write_json(args.output.rsplit(".", 1)[0] + ".json", {"argv": argv, "rows": rows})
    print(f"table written to {args.output}")
    return 0


def _pick(result: dict) -> dict:
    return {"n": result["n"], "accuracy": result["accuracy"], "macro_f1": result["macro_f1"]}


if __name__ == "__main__":
    sys.exit(main())
