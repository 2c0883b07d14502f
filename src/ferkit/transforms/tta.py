"""Test-time augmentation: horizontal flip and ten-crop, averaged in probability space."""

from __future__ import annotations

from collections.abc import Callable

import torch

TTA_MODES = ("none", "flip", "tencrop")


def crops(x: torch.Tensor, size: int, mode: str) -> list[torch.Tensor]:
    """Views of the (B,C,S,S) source batch at the network size. 'flip': centre + mirrored centre;
    'tencrop': four corners + centre, each also mirrored."""
    if mode not in TTA_MODES:
        raise ValueError(f"unknown TTA mode {mode!r}; choose from {', '.join(TTA_MODES)}")
    s = x.shape[-1]
    off = (s - size) // 2
    centre = x[..., off : off + size, off : off + size]
    if mode == "none":
        return [centre]
    if mode == "flip":
        return [centre, centre.flip(-1)]
    views = [
        x[..., :size, :size],
        x[..., :size, s - size :],
        x[..., s - size :, :size],
        x[..., s - size :, s - size :],
        centre,
    ]
    return views + [v.flip(-1) for v in views]


@torch.no_grad()
def predict_proba(
    forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, size: int, mode: str = "none"
) -> torch.Tensor:
    """Mean softmax over the TTA views. x: normalised (B,C,S,S) source-size batch."""
    views = crops(x, size, mode)
    return torch.stack([forward(v).softmax(-1) for v in views]).mean(0)
