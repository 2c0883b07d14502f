"""Illumination normalisation of grey faces: histogram equalisation and CLAHE (OpenCV)."""
from __future__ import annotations

import cv2
import numpy as np

METHODS = ("none", "hist_eq", "clahe")


def hist_eq(image: np.ndarray) -> np.ndarray:
    return cv2.equalizeHist(np.ascontiguousarray(image, dtype=np.uint8))


def clahe(image: np.ndarray, clip_limit: float = 2.0, tiles: int = 4) -> np.ndarray:
    op = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    return op.apply(np.ascontiguousarray(image, dtype=np.uint8))


def normalise_illumination(images: np.ndarray, method: str) -> np.ndarray:
    """Apply to one (H,W) or a batch (N,H,W) of uint8 grey images."""
    if method == "none":
        return images
    if method not in METHODS:
        raise ValueError(f"unknown illumination method {method!r}; choose from {', '.join(METHODS)}")
    fn = hist_eq if method == "hist_eq" else clahe
    if images.ndim == 2:
        return fn(images)
    return np.stack([fn(im) for im in images])
