"""Evaluate a model on a labelled dataset, aligning label sets by name (cross-dataset safe)."""

from __future__ import annotations

import numpy as np
import torch

from ferkit.data import ArrayDataset
from ferkit.errors import DatasetError
from ferkit.evaluation.calibration import calibration_metrics, reliability_bins
from ferkit.evaluation.metrics import summary
from ferkit.evaluation.scoring import score_images
from ferkit.labels import align
from ferkit.models.checkpoint import LoadedModel


def model_scores(
    loaded: LoadedModel,
    images: np.ndarray,
    tta: str = "none",
    device: str = "cpu",
    batch_size: int = 512,
    calibrated: bool = True,
) -> np.ndarray:
    """Softmax scores (N, len(model labels)) for uint8 crops (any square size, grey or RGB; the model's own
    preprocessing), with the model's calibration temperature applied to every TTA view (``calibrated=False``:
    the raw softmax)."""
    model = loaded.model.to(device).eval()
    t = float(getattr(loaded, "temperature", 1.0)) if calibrated else 1.0
    forward = model if t == 1.0 else (lambda x: model(x) / t)
    return score_images(forward, images, loaded.preprocess, tta, device, batch_size)


@torch.inference_mode()
def model_logits(loaded: LoadedModel, images: np.ndarray, device: str = "cpu", batch_size: int = 512) -> np.ndarray:
    """Raw logits (N, len(model labels)) of the centre view, before any temperature: what calibration fits."""
    pre = loaded.preprocess
    model = loaded.model.to(device).eval()
    out = []
    for start in range(0, len(images), batch_size):
        x = pre.tensors(np.asarray(images[start : start + batch_size])).to(device)  # the one preprocessing contract
        out.append(model(x).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, len(loaded.labels)), np.float32)


def align_dataset_indices(model_labels, dataset: ArrayDataset) -> list[int]:
    return [p[0] for p in align(dataset.labels, model_labels)]


def dataset_targets(model_labels, dataset: ArrayDataset) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(keep mask over the dataset, target index among the shared labels, model column of each shared label)."""
    pairs = align(dataset.labels, model_labels)  # (dataset index, model index)
    if not pairs:
        raise DatasetError(
            f"model labels {list(model_labels)} share no class with {dataset.name} labels {list(dataset.labels)}"
        )
    lut = np.full(len(dataset.labels), -1)
    lut[np.array([p[0] for p in pairs])] = np.arange(len(pairs))
    hard = dataset.hard_labels
    y = np.where(hard >= 0, lut[np.maximum(hard, 0)], -1)
    return y >= 0, y, [p[1] for p in pairs]


def evaluate_scores(scores: np.ndarray, model_labels, dataset: ArrayDataset) -> dict:
    """Metrics over the labels the model and the dataset share; samples of other classes are dropped."""
    keep, y, model_idx = dataset_targets(model_labels, dataset)
    shared_scores = scores[keep][:, model_idx]
    shared_names = [dataset.labels[i] for i in align_dataset_indices(model_labels, dataset)]
    result = summary(y[keep], shared_scores, shared_names)
    # calibration of the top label among the shared classes; NLL = -log p(true class) under the model
    result.update(calibration_metrics(shared_scores, y[keep]))
    bins = reliability_bins(shared_scores, y[keep])
    result["reliability"] = {k: bins[k].tolist() for k in ("count", "confidence", "accuracy")}
    result["n_dropped"] = int((~keep).sum())
    accepted = accepted_label_accuracy(
        shared_scores.argmax(1), dataset, keep, align_dataset_indices(model_labels, dataset)
    )
    if accepted is not None:
        result["accepted_accuracy"] = accepted
    result["dataset"] = dataset.name
    result["split"] = dataset.split
    result["model_labels"] = list(model_labels)
    return result


def accepted_label_accuracy(
    predicted: np.ndarray, dataset: ArrayDataset, keep: np.ndarray, dataset_idx: list[int]
) -> float | None:
    """FERPlus "accepted-label accuracy": the share of scored images whose prediction is any emotion holding at
    least 30% of the image's (outlier-filtered) votes, the multi-label reading of the paper's ML scheme.

    ``predicted``: index among the shared labels of each kept image; ``dataset_idx``: dataset label of each
    shared label. None for datasets without crowd votes."""
    if dataset.name != "ferplus" or "votes" not in dataset.extra or not keep.any():
        return None
    from ferkit.data.ferplus import remove_outlier_votes
    from ferkit.data.vote_modes import accepted_emotions

    votes = remove_outlier_votes(np.asarray(dataset.extra["votes"], np.float32))[keep]
    accepted = accepted_emotions(votes, len(dataset.labels))
    hit = accepted[np.arange(len(predicted)), np.asarray(dataset_idx)[predicted]]
    return float(hit.mean())


def evaluate_model(
    loaded: LoadedModel,
    dataset: ArrayDataset,
    tta: str = "none",
    device: str = "cpu",
    batch_size: int = 512,
    return_scores: bool = False,
) -> dict | tuple[dict, np.ndarray]:
    """Metrics of ``loaded`` on ``dataset``; with ``return_scores`` also its (N, len(model labels)) scores."""
    with torch.inference_mode():
        scores = model_scores(loaded, dataset.images, tta, device, batch_size)
    result = evaluate_scores(scores, loaded.labels, dataset)
    result["tta"] = tta
    result["temperature"] = float(getattr(loaded, "temperature", 1.0))
    for key in ("faces_not_detected", "multiple_faces"):  # whole-photo datasets (e.g. jaffe) record these
        if key in dataset.info:
            result[key] = int(dataset.info[key])
    return (result, scores) if return_scores else result


def write_dataset_predictions(path, scores: np.ndarray, model_labels, dataset: ArrayDataset) -> None:
    """Each scored item's label and prediction among the labels the model and the dataset share (the choice the
    reported accuracy counts), as a predictions CSV keyed by the item's file or CSV row."""
    from ferkit.evaluation.predictions import dataset_item_keys, write_predictions

    keep, y, model_idx = dataset_targets(model_labels, dataset)
    names = [dataset.labels[i] for i in align_dataset_indices(model_labels, dataset)]
    shared = scores[keep][:, model_idx]
    top = shared.argmax(1)
    ids, groups = dataset_item_keys(dataset)
    rows = np.flatnonzero(keep)
    write_predictions(
        path,
        [ids[i] for i in rows],
        [groups[i] for i in rows],
        [names[k] for k in y[keep]],
        [names[k] for k in top],
        shared[np.arange(len(top)), top],
    )


def format_report(result: dict) -> str:
    """Human-readable table of an evaluation result."""
    lines = [
        f"{result.get('dataset', '?')} {result.get('split', '')}: n={result['n']}"
        + (f" (dropped {result['n_dropped']} of classes the model lacks)" if result.get("n_dropped") else ""),
        f"accuracy {result['accuracy']:.4f}   top-2 {result['top2_accuracy']:.4f}   macro-F1 {result['macro_f1']:.4f}",
    ]
    if "accepted_accuracy" in result:
        lines.append(
            f"accepted-label accuracy {result['accepted_accuracy']:.4f} (any emotion with >= 30% of the votes)"
        )
    if "ece" in result:
        lines.append(
            f"ECE {result['ece']:.4f}   NLL {result['nll']:.4f}   (temperature {result.get('temperature', 1.0):.3f})"
        )
    if "faces_not_detected" in result:
        lines.append(
            f"faces not detected: {result['faces_not_detected']} (centre square used)"
            + (f", several faces: {result['multiple_faces']}" if result.get("multiple_faces") else "")
        )
    lines += ["", f"{'class':<11}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, m in result["per_class"].items():
        lines.append(f"{name:<11}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9d}")
    labels = result["labels"]
    lines += ["", "confusion matrix (rows true, columns predicted):", " " * 11 + "".join(f"{n[:7]:>8}" for n in labels)]
    for name, row in zip(labels, result["confusion_matrix"]):
        lines.append(f"{name:<11}" + "".join(f"{v:>8d}" for v in row))
    return "\n".join(lines)
