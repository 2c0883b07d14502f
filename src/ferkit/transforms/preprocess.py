"""The preprocessing contract stored with every model: how a grey face crop becomes a tensor."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch


@dataclass
class Preprocess:
    """source_size: side of the face crop fed in (FER2013 crops are 48); input_size: the centre crop the
    network sees; mean/std: normalisation of [0,1] grey values; illumination: 'none' | 'hist_eq' | 'clahe'."""

    source_size: int = 48
    input_size: int = 40
    in_chans: int = 1
    mean: list[float] = field(default_factory=lambda: [0.5])
    std: list[float] = field(default_factory=lambda: [0.25])
    illumination: str = "none"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (B,C,H,W) in [0,1]."""
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def centre_crop(self, x: torch.Tensor) -> torch.Tensor:
        off = (x.shape[-1] - self.input_size) // 2
        return x[..., off:off + self.input_size, off:off + self.input_size]

    def __call__(self, crops: np.ndarray | torch.Tensor) -> torch.Tensor:
        """uint8 (B,H,W) grey crops at source_size -> normalised (B,C,input,input) float tensor."""
        if isinstance(crops, np.ndarray):
            if self.illumination != "none":
                from ferkit.transforms.illumination import normalise_illumination

                crops = normalise_illumination(crops, self.illumination)
            crops = torch.from_numpy(np.ascontiguousarray(crops))
        x = crops.float().div_(255.0)
        if x.ndim == 3:
            x = x.unsqueeze(1)
        if x.shape[1] != self.in_chans:
            x = x.expand(-1, self.in_chans, -1, -1)
        return self.normalise(self.centre_crop(x))
