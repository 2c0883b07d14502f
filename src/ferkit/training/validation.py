"""Validation of a training run: one validation split scored by the live or the EMA weights."""

from __future__ import annotations

import torch

from ferkit.evaluation.metrics import summary
from ferkit.evaluation.scoring import score_images
from ferkit.training.build import Run


@torch.no_grad()
def evaluate_split(run: Run, name: str, ema: bool = False) -> dict:
    """Metrics (``evaluation.metrics.summary``) of head ``name`` ("main" or an auxiliary head) on its validation
    set, with ``cfg.eval_tta``; ``ema``: the averaged weights, when the run keeps them."""
    averaged = ema and run.ema is not None
    model = run.ema.model if averaged else run.model
    aux = run.ema.aux if averaged else run.aux
    model.eval()
    ds = run.data.val_sets[name]
    head = model.forward_head if name == "main" else aux.heads[name]
    scores = score_images(
        lambda x: head(model.forward_features(x)), ds.images, run.preprocess, run.cfg.eval_tta, run.device
    )
    return summary(ds.hard_labels, scores, ds.labels)
