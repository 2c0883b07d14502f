"""BlazeFace networks (Bazarevsky et al., 2019) re-implemented in PyTorch to run MediaPipe's face detectors.

Two variants, matching the graphs of the models shipped in ``mediapipe==0.10.21``:

* ``BlazeFaceShort``: 128x128 input, "BlazeBlocks" (depthwise 3x3 + pointwise 1x1 with a max-pool /
  channel-padding shortcut), 896 anchors on 16x16 (2 per cell) and 8x8 (6 per cell) grids. For faces that
  fill a good part of the picture (selfie / webcam distance).
* ``BlazeFaceFull``: 192x192 input, inverted-bottleneck blocks with a feature pyramid back to 48x48,
  one anchor per cell of the 48x48 grid (2304 anchors). Finds faces down to ~1/20 of the image side.

Both output ``(scores_logits (B, N), regressors (B, N, 16))`` in anchor order; :mod:`ferkit.faces.blazeface`
decodes them. Weights are converted once from the TFLite files by ``tools/convert_blazeface.py``; the
convolution order of ``forward`` is the order of the TFLite graph, which the converter relies on.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _depthwise(channels: int, stride: int = 1, padding: int = 1) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride, padding, groups=channels)


class BlazeBlock(nn.Module):
    """Depthwise 3x3 (stride 1 or 2) -> pointwise; shortcut max-pooled and zero-padded in channels; ReLU."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.stride = stride
        self.extra_channels = cout - cin
        # TensorFlow "SAME" padding at stride 2 on an even map pads only bottom/right; done by hand in forward.
        self.dw = _depthwise(cin, stride, padding=1 if stride == 1 else 0)
        self.pw = nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.pad(x, (0, 1, 0, 1)) if self.stride == 2 else x
        h = self.pw(self.dw(h))
        if self.stride == 2:
            x = F.max_pool2d(x, 2)
        if self.extra_channels:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))
        return F.relu(h + x)


class BlazeFaceShort(nn.Module):
    input_size = 128

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 24, 5, 2, 0)
        spec = [
            (24, 24, 1),
            (24, 28, 1),
            (28, 32, 2),
            (32, 36, 1),
            (36, 42, 1),
            (42, 48, 2),
            (48, 56, 1),
            (56, 64, 1),
            (64, 72, 1),
            (72, 80, 1),
            (80, 88, 1),
        ]
        self.stage16 = nn.Sequential(*[BlazeBlock(*s) for s in spec])
        self.stage8 = nn.Sequential(BlazeBlock(88, 96, 2), *[BlazeBlock(96, 96, 1) for _ in range(4)])
        self.cls16 = nn.Conv2d(88, 2, 1)
        self.cls8 = nn.Conv2d(96, 6, 1)
        self.reg16 = nn.Conv2d(88, 32, 1)
        self.reg8 = nn.Conv2d(96, 96, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B,3,128,128) RGB in [-1, 1]."""
        x = F.relu(self.stem(F.pad(x, (1, 2, 1, 2))))
        f16 = self.stage16(x)
        f8 = self.stage8(f16)
        b = x.shape[0]
        scores = torch.cat([_flat(self.cls16(f16), 1), _flat(self.cls8(f8), 1)], 1).view(b, -1)
        boxes = torch.cat([_flat(self.reg16(f16), 16), _flat(self.reg8(f8), 16)], 1)
        return scores, boxes


class Bottleneck(nn.Module):
    """depthwise -> pointwise (ReLU) -> depthwise -> pointwise -> (+ identity shortcut when shapes allow) -> ReLU."""

    def __init__(self, cin: int, mid: int, cout: int, stride: int = 1):
        super().__init__()
        self.dw1 = _depthwise(cin, stride)
        self.pw1 = nn.Conv2d(cin, mid, 1)
        self.dw2 = _depthwise(mid)
        self.pw2 = nn.Conv2d(mid, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pw2(self.dw2(F.relu(self.pw1(self.dw1(x)))))
        return F.relu(x + h if self.residual else h)


def _stage(cin: int, mid: int, cout: int, n_residual: int, downsample: bool = True) -> nn.Sequential:
    blocks = [Bottleneck(cin, mid, cout, 2)] if downsample else []
    return nn.Sequential(*blocks, *[Bottleneck(cout, mid, cout) for _ in range(n_residual)])


def _depth_to_space(x: torch.Tensor, block: int = 2) -> torch.Tensor:
    """TensorFlow's depth_to_space (channel index = (dy*block + dx)*C + c), not torch's pixel_shuffle order."""
    b, c, h, w = x.shape
    c_out = c // (block * block)
    x = x.view(b, block, block, c_out, h, w).permute(0, 3, 4, 1, 5, 2)
    return x.reshape(b, c_out, h * block, w * block)


class BlazeFaceFull(nn.Module):
    input_size = 192

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, 2, 1)
        self.s96 = _stage(32, 8, 32, 2, downsample=False)
        self.s48 = _stage(32, 16, 64, 2)
        self.lat48 = nn.Conv2d(64, 48, 1)
        self.s24 = _stage(64, 32, 128, 2)
        self.lat24 = nn.Conv2d(128, 64, 1)
        self.s12 = _stage(128, 48, 192, 2)
        self.lat12 = nn.Conv2d(192, 96, 1)
        self.s6 = _stage(192, 96, 384, 3)
        self.top6 = nn.Conv2d(384, 96, 1)
        self.up12 = _stage(96, 48, 96, 2, downsample=False)
        self.top12 = nn.Conv2d(96, 64, 1)
        self.up24 = _stage(64, 32, 64, 2, downsample=False)
        self.top24 = nn.Conv2d(64, 48, 1)
        self.up48 = _stage(48, 24, 48, 1, downsample=False)
        self.cls_pw = nn.Conv2d(48, 4, 1)
        self.cls_dw = _depthwise(4, 2)
        self.reg_pw = nn.Conv2d(48, 64, 1)
        self.reg_dw = _depthwise(64, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B,3,192,192) RGB in [-1, 1]."""
        x = self.s96(F.relu(self.stem(x)))
        c48 = self.s48(x)
        l48 = F.relu(self.lat48(c48))
        c24 = self.s24(c48)
        l24 = F.relu(self.lat24(c24))
        c12 = self.s12(c24)
        l12 = F.relu(self.lat12(c12))
        x = self.s6(c12)
        x = self.up12(_upsample(F.relu(self.top6(x))) + l12)
        x = self.up24(_upsample(F.relu(self.top12(x))) + l24)
        x = self.up48(_upsample(F.relu(self.top24(x))) + l48)
        b = x.shape[0]
        scores = _flat(_depth_to_space(self.cls_dw(self.cls_pw(x))), 1).view(b, -1)
        boxes = _flat(_depth_to_space(self.reg_dw(self.reg_pw(x))), 16)
        return scores, boxes


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def _flat(x: torch.Tensor, per_anchor: int) -> torch.Tensor:
    """(B, A*k, H, W) -> (B, H*W*A, k) in the row-major NHWC order of the TFLite anchors."""
    b = x.shape[0]
    return x.permute(0, 2, 3, 1).reshape(b, -1, per_anchor)


VARIANTS = {"short": BlazeFaceShort, "full": BlazeFaceFull}
