"""Penultimate features of a model over a dataset, saved as ``.npz`` for classical heads (SVM, forests, ...).

File keys: ``features`` (N, D) float32, ``logits`` (N, C_model) float32, ``targets`` (N,) int64 hard labels in the
dataset's label order (-1 = none), ``labels`` (dataset label names), ``model_labels``, ``dataset``, ``split``,
``model``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ferkit.data import ArrayDataset
from ferkit.models.checkpoint import LoadedModel


@torch.inference_mode()
def model_features(
    loaded: LoadedModel, images: np.ndarray, device: str = "cpu", batch_size: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, D), logits (N, C)) for uint8 crops, with the model's own preprocessing (centre crop)."""
    pre = loaded.preprocess
    model = loaded.model.to(device).eval()
    feats, logits = [], []
    for start in range(0, len(images), batch_size):
        x = pre.tensors(np.asarray(images[start : start + batch_size])).to(device)
        f = model.forward_features(x)
        feats.append(f.float().cpu())
        logits.append(model.forward_head(f).float().cpu())
    if not feats:
        return np.zeros((0, 0), np.float32), np.zeros((0, len(loaded.labels)), np.float32)
    return torch.cat(feats).numpy(), torch.cat(logits).numpy()


def save_features(
    path: str | os.PathLike,
    loaded: LoadedModel,
    dataset: ArrayDataset,
    model_name: str,
    device: str = "cpu",
    batch_size: int = 512,
) -> Path:
    features, logits = model_features(loaded, dataset.images, device, batch_size)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        features=features,
        logits=logits,
        targets=np.asarray(dataset.hard_labels, np.int64),
        labels=np.asarray(dataset.labels),
        model_labels=np.asarray(loaded.labels),
        dataset=np.asarray(dataset.name),
        split=np.asarray(dataset.split),
        model=np.asarray(model_name),
    )
    return path


def load_features(path: str | os.PathLike) -> dict:
    """The arrays of a features file, with names as tuples/strings."""
    with np.load(path, allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    for key in ("labels", "model_labels"):
        out[key] = tuple(str(v) for v in out[key])
    for key in ("dataset", "split", "model"):
        out[key] = str(out[key])
    return out
