"""The preprocessing contract stored with every model, and the one function that applies it.

``Preprocess`` says how a face crop becomes a network input (source size, input size, channels, mean/std,
illumination). ``Preprocess.tensors`` is the only path from uint8 crops to model tensors: training
(validation), evaluation, features, ensembles, inference and export all call it, so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch


def resize_crops(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N,H,W) or (N,H,W,3) crops -> (N,size,size[,3]): area averaging when shrinking, bilinear when
    enlarging (the readers' rule), a no-op at the right size."""
    images = np.asarray(images)
    if images.shape[1] == size and images.shape[2] == size:
        return images
    interp = cv2.INTER_AREA if size < min(images.shape[1:3]) else cv2.INTER_LINEAR
    out = [cv2.resize(np.ascontiguousarray(im), (size, size), interpolation=interp) for im in images]
    return np.stack(out) if out else np.zeros((0, size, size) + images.shape[3:], np.uint8)


def match_channels(images: np.ndarray, in_chans: int) -> np.ndarray:
    """Grey (N,H,W) or RGB (N,H,W,3) uint8 crops converted to grey (in_chans 1) or RGB (in_chans 3)."""
    images = np.asarray(images)
    rgb = images.ndim == 4
    if in_chans == 3 and not rgb:
        return np.repeat(images[..., None], 3, axis=3)
    if in_chans == 1 and rgb:
        return (
            np.stack([cv2.cvtColor(np.ascontiguousarray(im), cv2.COLOR_RGB2GRAY) for im in images])
            if len(images)
            else np.zeros(images.shape[:3], np.uint8)
        )
    return images


def to_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (B,H,W) grey or (B,H,W,3) RGB -> float (B,C,H,W) in [0,1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)) if isinstance(images, np.ndarray) else images
    x = x.float().div_(255.0)
    return x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2)


@dataclass
class Preprocess:
    """source_size: side of the face crop fed in (FER2013 crops are 48); input_size: the centre crop the
    network sees; in_chans: 1 (grey) or 3 (RGB); mean/std: normalisation of [0,1] values per channel;
    illumination: 'none' | 'hist_eq' | 'clahe' (on the luminance of RGB crops)."""

    source_size: int = 48
    input_size: int = 40
    in_chans: int = 1
    mean: list[float] = field(default_factory=lambda: [0.5])
    std: list[float] = field(default_factory=lambda: [0.25])
    illumination: str = "none"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Preprocess:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (B,C,H,W) in [0,1]."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def centre_crop(self, x: torch.Tensor) -> torch.Tensor:
        off = (x.shape[-1] - self.input_size) // 2
        return x[..., off : off + self.input_size, off : off + self.input_size]

    def tensors(self, crops: np.ndarray | torch.Tensor, centre_crop: bool = True) -> torch.Tensor:
        """uint8 crops (grey (B,H,W) or RGB (B,H,W,3), any square size; numpy) -> normalised float
        (B, in_chans, input, input), or (B, in_chans, source, source) with ``centre_crop=False`` (for TTA views).

        A torch tensor is taken as already prepared (source size, channels, illumination)."""
        if isinstance(crops, np.ndarray):
            crops = prepare_crops(crops, self)
        x = to_float(crops)
        if x.shape[1] != self.in_chans:
            x = x.expand(-1, self.in_chans, -1, -1)
        x = self.normalise(x)
        return self.centre_crop(x) if centre_crop else x

    __call__ = tensors


def prepare_crops(images: np.ndarray, pre: Preprocess) -> np.ndarray:
    """The uint8 half of the contract: resize to source_size, convert to the model's channels, normalise
    illumination. Returns (N,S,S) grey or (N,S,S,3) RGB uint8."""
    crops = match_channels(resize_crops(images, pre.source_size), pre.in_chans)
    if pre.illumination != "none":
        from ferkit.transforms.illumination import normalise_illumination

        crops = normalise_illumination(crops, pre.illumination)
    return crops
