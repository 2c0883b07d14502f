"""Handcrafted face descriptors as fixed (parameter-free) torch modules, so a model that uses them still
exports to ONNX and runs in the face pipeline unchanged.

LBP (Ojala et al.): each pixel's 8 neighbours in the 3x3 window, clockwise from the top-left, give one bit
each (neighbour >= centre); codes map to the 58 uniform patterns (at most two circular 0/1 transitions) plus
one bin for all others; the descriptor is the 59-bin histogram of every cell of a grid x grid layout
(Shan et al. 2009 used exactly this for expressions). Codes are invariant to any increasing grey-level map,
so the descriptor is the same on raw or normalised input.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# (dy, dx) of bit 0..7: clockwise from the top-left neighbour
NEIGHBOURS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
UNIFORM_BINS = 59


def uniform_lut() -> torch.Tensor:
    """(256,) bin of each 8-bit code: 0..57 for the uniform patterns in increasing code order, 58 otherwise."""
    lut = torch.full((256,), UNIFORM_BINS - 1, dtype=torch.long)
    nxt = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        transitions = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        if transitions <= 2:
            lut[code] = nxt
            nxt += 1
    assert nxt == UNIFORM_BINS - 1
    return lut


def lbp_codes(x: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) grey -> (B,1,H,W) long 8-bit LBP codes; the border is replicated so every pixel has a code."""
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    h, w = x.shape[-2:]
    code = torch.zeros_like(x)
    for bit, (dy, dx) in enumerate(NEIGHBOURS):
        neighbour = padded[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
        code = code + (neighbour >= x).to(x.dtype) * float(1 << bit)
    return code.long()


class LBPHistogram(nn.Module):
    """(B,C,H,W) -> (B, 59 * grid * grid) uniform-LBP cell histograms (each cell sums to 1)."""

    def __init__(self, grid: int = 4):
        super().__init__()
        self.grid = grid
        self.register_buffer("lut", uniform_lut(), persistent=False)
        self.register_buffer("bins", torch.arange(UNIFORM_BINS).view(1, -1, 1, 1), persistent=False)

    @property
    def dim(self) -> int:
        return UNIFORM_BINS * self.grid * self.grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        grey = x.mean(1, keepdim=True) if x.shape[1] > 1 else x
        codes = self.lut[lbp_codes(grey)]  # (B,1,H,W) bin indices
        onehot = (codes == self.bins).to(x.dtype)  # (B,59,H,W); a comparison exports to ONNX
        h, w, g = int(x.shape[-2]), int(x.shape[-1]), self.grid
        if h % g == 0 and w % g == 0:  # a fixed pool exports to ONNX; the adaptive one does not
            return F.avg_pool2d(onehot, (h // g, w // g)).flatten(1)
        return F.adaptive_avg_pool2d(onehot, g).flatten(1)
