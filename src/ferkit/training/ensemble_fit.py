"""Fitting the learned parts of an ensemble (ferkit.models.ensemble) on held-out data:

* ``fit_weights``: decision-level weights on the probability simplex minimising the negative log-likelihood of
  the weighted average of the members' probabilities;
* ``fit_feature_head``: the linear head of a feature-level ensemble on the members' concatenated, normalised
  features (the members stay frozen; the features are computed once).

The data must not be the split the ensemble is reported on (see ``check_fit_split``), and ideally none the
members were trained on: members fit their own training data better than new data, so weights fitted there
favour the most over-fitted member.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ferkit.data import ArrayDataset
from ferkit.errors import ConfigError
from ferkit.labels import remap_indices
from ferkit.models.ensemble import Ensemble

REPORTED_SPLITS = ("publictest", "privatetest", "test")


def check_fit_split(split: str) -> None:
    key = split.strip().lower()
    if key in REPORTED_SPLITS or key.startswith("fold"):
        raise ConfigError(
            f"ensemble weights/heads must not be fitted on a reported split ({split!r}); use training "
            "data the members did not see, or train<k> with CV folds"
        )


def _inputs(ens: Ensemble, images: np.ndarray, start: int, stop: int) -> torch.Tensor:
    return ens.preprocess.tensors(np.asarray(images[start:stop]))


@torch.inference_mode()
def member_probabilities(ens: Ensemble, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, M, C) aligned member probabilities for uint8 crops (the ensemble's preprocessing applied)."""
    ens.eval()
    out = [
        ens.member_log_probs(_inputs(ens, images, s, s + batch_size)).exp() for s in range(0, len(images), batch_size)
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, len(ens.members), len(ens.labels)), np.float32)


@torch.inference_mode()
def ensemble_features(ens: Ensemble, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    ens.eval()
    out = [ens.forward_features(_inputs(ens, images, s, s + batch_size)) for s in range(0, len(images), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, ens.num_features), np.float32)


def fit_weights(probs: np.ndarray, targets: np.ndarray, steps: int = 300, lr: float = 0.1) -> np.ndarray:
    """(M,) simplex weights minimising NLL of sum_m w_m p_m on (N, M, C) probabilities and labels (N,)."""
    p = torch.as_tensor(np.asarray(probs), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    if len(y) == 0:
        raise ConfigError("no labelled samples to fit ensemble weights on")
    logits = torch.zeros(p.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=lr)
    for _ in range(steps):
        w = logits.softmax(0)
        fused = (w.view(1, -1, 1) * p).sum(1).clamp_min(1e-12)
        loss = F.nll_loss(fused.log(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return logits.detach().softmax(0).numpy()


def fit_feature_head(
    ens: Ensemble,
    features: np.ndarray,
    targets: np.ndarray,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> float:
    """Train ``ens.head`` (full batch, Adam, cross-entropy) on precomputed features; returns the final loss."""
    if ens.mode != "feature":
        raise ConfigError("fit_feature_head needs a feature-level ensemble")
    torch.manual_seed(seed)
    x = torch.as_tensor(np.asarray(features), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(targets), dtype=torch.long)
    head = ens.head
    head.reset_parameters()
    opt = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    loss = torch.tensor(0.0)
    with torch.enable_grad():
        for _ in range(epochs):
            loss = F.cross_entropy(head(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return float(loss.detach())


def fit_ensemble(ens: Ensemble, dataset: ArrayDataset, batch_size: int = 256) -> dict:
    """Fit whatever ``ens`` learns (weights for method=weighted, the head for mode=feature) on ``dataset``,
    whose labels are aligned to the ensemble's by name; returns a short report."""
    check_fit_split(dataset.split)
    y = remap_indices(dataset.hard_labels, dataset.labels, ens.labels)
    keep = y >= 0
    images = np.asarray(dataset.images)[keep]  # resized, illumination-normalised batch by batch in _inputs
    y = y[keep]
    report = {"fit_dataset": dataset.name, "fit_split": dataset.split, "fit_n": int(keep.sum())}
    if ens.mode == "feature":
        report["head_loss"] = fit_feature_head(ens, ensemble_features(ens, images, batch_size), y)
    elif ens.method == "weighted":
        w = fit_weights(member_probabilities(ens, images, batch_size), y)
        ens.head.weight.copy_(torch.as_tensor(w, dtype=ens.head.weight.dtype))
        report["weights"] = [float(v) for v in w]
    return report
