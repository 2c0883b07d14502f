"""The one softmax of the inference runtimes: calibrated probabilities = softmax(logits / temperature), in the
logits' dtype (the temperature is stored with each model)."""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature if temperature != 1.0 else logits
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
