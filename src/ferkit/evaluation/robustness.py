"""Accuracy under synthetic perturbations (ferkit.evaluation.perturb) against the clean accuracy."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ferkit.data import ArrayDataset
from ferkit.evaluation.evaluate import evaluate_scores, model_scores
from ferkit.evaluation.perturb import PERTURBATIONS, family_of, resolve
from ferkit.models.checkpoint import LoadedModel


def evaluate_perturbations(
    loaded: LoadedModel,
    dataset: ArrayDataset,
    names: Iterable[str],
    clean: dict,
    tta: str = "none",
    device: str = "cpu",
    batch_size: int = 512,
) -> dict:
    """For each perturbation (names or families, see perturb.resolve): accuracy and macro-F1 on the perturbed
    crops, and the change from ``clean`` (the result of evaluate_model on the same dataset)."""
    rows = []
    images = dataset.images
    for name in resolve(names):
        with torch.inference_mode():
            scores = model_scores(loaded, PERTURBATIONS[name](images), tta, device, batch_size)
        r = evaluate_scores(scores, loaded.labels, dataset)
        rows.append(
            {
                "name": name,
                "family": family_of(name),
                "accuracy": r["accuracy"],
                "macro_f1": r["macro_f1"],
                "delta_accuracy": r["accuracy"] - clean["accuracy"],
                "relative_accuracy": r["accuracy"] / clean["accuracy"] if clean["accuracy"] else 0.0,
            }
        )
    return {"clean": {"accuracy": clean["accuracy"], "macro_f1": clean["macro_f1"]}, "results": rows}


def format_perturbations(result: dict) -> str:
    """Text table: one row per perturbation with accuracy, change from clean and macro-F1."""
    clean = result["clean"]
    lines = [
        f"{'perturbation':<20}{'family':<12}{'accuracy':>9}{'vs clean':>10}{'macro-F1':>10}",
        f"{'clean':<20}{'-':<12}{clean['accuracy']:>9.4f}{'':>10}{clean['macro_f1']:>10.4f}",
    ]
    for r in result["results"]:
        lines.append(
            f"{r['name']:<20}{r['family']:<12}{r['accuracy']:>9.4f}{r['delta_accuracy']:>+10.4f}{r['macro_f1']:>10.4f}"
        )
    return "\n".join(lines)


def family_means(result: dict) -> dict[str, float]:
    """Mean accuracy per perturbation family (for compact comparison tables)."""
    out: dict[str, list[float]] = {}
    for r in result["results"]:
        out.setdefault(r["family"], []).append(r["accuracy"])
    return {k: sum(v) / len(v) for k, v in out.items()}
