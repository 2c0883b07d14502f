"""Illumination normalisation of faces: histogram equalisation and CLAHE (OpenCV), on grey images or on the
luminance of RGB images (colour kept)."""

from __future__ import annotations

import cv2
import numpy as np

METHODS = ("none", "hist_eq", "clahe")


def hist_eq(image: np.ndarray) -> np.ndarray:
    return cv2.equalizeHist(np.ascontiguousarray(image, dtype=np.uint8))


def clahe(image: np.ndarray, clip_limit: float = 2.0, tiles: int = 4) -> np.ndarray:
    op = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    return op.apply(np.ascontiguousarray(image, dtype=np.uint8))


def _on_luminance(fn, image: np.ndarray) -> np.ndarray:
    ycc = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_RGB2YCrCb)
    ycc[..., 0] = fn(ycc[..., 0])
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)


def normalise_illumination(images: np.ndarray, method: str) -> np.ndarray:
    """Apply to one (H,W) / (H,W,3) image or a batch (N,H,W) / (N,H,W,3) of uint8 images."""
    if method == "none":
        return images
    if method not in METHODS:
        raise ValueError(f"unknown illumination method {method!r}; choose from {', '.join(METHODS)}")
    fn = hist_eq if method == "hist_eq" else clahe
    images = np.asarray(images)
    if images.ndim == 2:
        return fn(images)
    if images.ndim == 3 and images.shape[-1] == 3 and images.shape[0] == images.shape[1] > 3:
        return _on_luminance(fn, images)  # one square RGB image (H,W,3); (N,H,W) grey batches are never square-by-3
    if images.ndim == 4:
        return np.stack([_on_luminance(fn, im) for im in images]) if len(images) else images
    return np.stack([fn(im) for im in images]) if len(images) else images
