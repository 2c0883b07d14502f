"""Softmax scores of a model over uint8 face crops, batched, with optional TTA."""

from __future__ import annotations

import numpy as np
import torch

from ferkit.transforms.preprocess import Preprocess
from ferkit.transforms.tta import predict_proba


@torch.no_grad()
def score_images(
    forward,
    images: np.ndarray,
    preprocess: Preprocess,
    tta: str = "none",
    device: torch.device | str = "cpu",
    batch_size: int = 512,
) -> np.ndarray:
    """Softmax scores for uint8 crops (grey (N,H,W) or RGB (N,H,W,3), any square size), prepared by the model's
    own ``preprocess`` batch by batch. Training validation and ``ferkit evaluate`` both come here."""
    out = []
    for start in range(0, len(images), batch_size):
        x = preprocess.tensors(np.asarray(images[start : start + batch_size]), centre_crop=False).to(device)
        out.append(predict_proba(forward, x, preprocess.input_size, tta).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)
