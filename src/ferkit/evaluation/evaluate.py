"""Evaluate a model on a labelled dataset, aligning label sets by name (cross-dataset safe)."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ferkit.data import ArrayDataset
from ferkit.errors import DatasetError
from ferkit.evaluation.metrics import summary
from ferkit.labels import align
from ferkit.models.checkpoint import LoadedModel
from ferkit.evaluation.scoring import score_images


def resize_crops(images: np.ndarray, size: int) -> np.ndarray:
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return np.stack([cv2.resize(np.asarray(im), (size, size), interpolation=cv2.INTER_AREA) for im in images])


def model_scores(loaded: LoadedModel, images: np.ndarray, tta: str = "none", device: str = "cpu",
                 batch_size: int = 512) -> np.ndarray:
    """Softmax scores (N, len(model labels)) for uint8 grey crops (any square size; resized as needed)."""
    pre = loaded.preprocess
    crops = resize_crops(np.asarray(images), pre.source_size)
    if pre.illumination != "none":
        from ferkit.transforms.illumination import normalise_illumination

        crops = normalise_illumination(crops, pre.illumination)
    model = loaded.model.to(device).eval()
    return score_images(model, crops, pre, tta, device, batch_size)


def evaluate_scores(scores: np.ndarray, model_labels, dataset: ArrayDataset) -> dict:
    """Metrics over the labels the model and the dataset share; samples of other classes are dropped."""
    pairs = align(dataset.labels, model_labels)  # (dataset index, model index)
    if not pairs:
        raise DatasetError(f"model labels {list(model_labels)} share no class with {dataset.name} "
                           f"labels {list(dataset.labels)}")
    ds_idx = np.array([p[0] for p in pairs])
    model_idx = np.array([p[1] for p in pairs])
    lut = np.full(len(dataset.labels), -1)
    lut[ds_idx] = np.arange(len(pairs))
    hard = dataset.hard_labels
    y = np.where(hard >= 0, lut[np.maximum(hard, 0)], -1)
    keep = y >= 0
    shared_scores = scores[keep][:, model_idx]
    result = summary(y[keep], shared_scores, [dataset.labels[i] for i in ds_idx])
    result["n_dropped"] = int((~keep).sum())
    result["dataset"] = dataset.name
    result["split"] = dataset.split
    result["model_labels"] = list(model_labels)
    return result


def evaluate_model(loaded: LoadedModel, dataset: ArrayDataset, tta: str = "none", device: str = "cpu",
                   batch_size: int = 512) -> dict:
    with torch.inference_mode():
        scores = model_scores(loaded, dataset.images, tta, device, batch_size)
    result = evaluate_scores(scores, loaded.labels, dataset)
    result["tta"] = tta
    for key in ("faces_not_detected", "multiple_faces"):  # whole-photo datasets (e.g. jaffe) record these
        if key in dataset.info:
            result[key] = int(dataset.info[key])
    return result


def format_report(result: dict) -> str:
    """Human-readable table of an evaluation result."""
    lines = [f"{result.get('dataset', '?')} {result.get('split', '')}: n={result['n']}"
             + (f" (dropped {result['n_dropped']} of classes the model lacks)" if result.get("n_dropped") else ""),
             f"accuracy {result['accuracy']:.4f}   top-2 {result['top2_accuracy']:.4f}   "
             f"macro-F1 {result['macro_f1']:.4f}"]
    if "faces_not_detected" in result:
        lines.append(f"faces not detected: {result['faces_not_detected']} (centre square used)"
                     + (f", several faces: {result['multiple_faces']}" if result.get("multiple_faces") else ""))
    lines += ["", f"{'class':<11}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for name, m in result["per_class"].items():
        lines.append(f"{name:<11}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}{m['support']:>9d}")
    labels = result["labels"]
    lines += ["", "confusion matrix (rows true, columns predicted):",
              " " * 11 + "".join(f"{n[:7]:>8}" for n in labels)]
    for name, row in zip(labels, result["confusion_matrix"]):
        lines.append(f"{name:<11}" + "".join(f"{v:>8d}" for v in row))
    return "\n".join(lines)
