"""Region Attention Network (Wang et al., "Region Attention Networks for Pose and Occlusion Robust Facial
Expression Recognition", IEEE TIP 2020; seed 004).

The face is cut into regions (region 0 is always the whole face); one shared backbone encodes every region
into F_i; a self-attention unit (FC + sigmoid) weighs each region, mu_i = sigmoid(F_i . q0); the weighted
mean F_m = sum mu_i F_i / sum mu_i summarises them; a relation-attention unit weighs each region again
against the summary, nu_i = sigmoid([F_i : F_m] . q1); the representation is
P = sum mu_i nu_i [F_i : F_m] / sum mu_i nu_i, and the head classifies P.

``forward`` returns logits like every classifier; ``forward_with_attention`` also returns the weights
(mu, nu) that the region-biased loss (ferkit.losses.region_biased) needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ferkit.errors import ModelError
from ferkit.models.base import Classifier
from ferkit.models.registry import create_model, register_model

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the input side

# The seed says "five fixed regions along with the original image"; these are our reading of the RAN paper's
# fixed-position cropping: three 0.75 crops (top-left, top-right, centre-down) and two centred crops.
FIXED5: tuple[Box, ...] = (
    (0.0, 0.0, 0.75, 0.75),  # top-left: right eye and brow of the subject
    (0.25, 0.0, 1.0, 0.75),  # top-right: the other eye and brow
    (0.125, 0.25, 0.875, 1.0),  # centre-down: nose and mouth
    (0.05, 0.05, 0.95, 0.95),  # centre 0.9
    (0.075, 0.075, 0.925, 0.925),  # centre 0.85
)
# Where eyes, nose tip and mouth centre sit in an aligned FER2013 crop (same numbers as
# ferkit.faces.alignment.FER_TEMPLATE; copied because models must not import the face pipeline).
FACE_TEMPLATE: tuple[tuple[float, float], ...] = ((0.32, 0.3816), (0.68, 0.3816), (0.5, 0.5926), (0.5, 0.7552))


def landmark_regions(points: Sequence[tuple[float, float]] = FACE_TEMPLATE, side: float = 0.5) -> tuple[Box, ...]:
    """Square regions of ``side`` centred on landmarks (fractions of the crop), shifted to stay inside it."""
    boxes = []
    for x, y in points:
        x0 = min(max(x - side / 2, 0.0), 1.0 - side)
        y0 = min(max(y - side / 2, 0.0), 1.0 - side)
        boxes.append((x0, y0, x0 + side, y0 + side))
    return tuple(boxes)


REGION_PRESETS: dict[str, tuple[Box, ...]] = {
    "fixed5": FIXED5,
    "landmarks4": landmark_regions(),
    "fixed5+landmarks4": FIXED5 + landmark_regions(),
}


class RegionCrops(nn.Module):
    """(B,C,H,W) -> (B,K,C,s,s): the whole face followed by each region, every one resized to ``crop_size``."""

    def __init__(self, regions: Sequence[Box], crop_size: int | None = None):
        super().__init__()
        for box in regions:
            x0, y0, x1, y1 = box
            if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
                raise ModelError(f"ran: region {box} must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")
        self.regions = tuple(tuple(float(v) for v in b) for b in regions)
        self.crop_size = crop_size

    @property
    def num_regions(self) -> int:
        return len(self.regions) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = int(x.shape[-2]), int(x.shape[-1])  # plain ints: the boxes are constants of an exported graph
        size = (self.crop_size, self.crop_size) if self.crop_size else (h, w)
        views = [x]
        for x0, y0, x1, y1 in self.regions:
            top, left = int(round(y0 * h)), int(round(x0 * w))
            bottom, right = max(int(round(y1 * h)), top + 1), max(int(round(x1 * w)), left + 1)
            views.append(x[..., top:bottom, left:right])
        views = [
            v if tuple(v.shape[-2:]) == size else F.interpolate(v, size=size, mode="bilinear", align_corners=False)
            for v in views
        ]
        return torch.stack(views, 1)


class RegionAttentionNet(Classifier):
    """Any registered backbone as the shared region encoder, self- and relation-attention, a linear head."""

    # a plain classifier's weights (model.pretrained) initialise the shared region encoder
    pretrained_prefix = "encoder."
    # parameters that a pretrained backbone never provides: trained at the full LR when fine-tuning
    # (optim.backbone_lr_mult applies to the encoder only)
    head_prefixes = ("head.", "self_attention.", "relation_attention.")

    def __init__(
        self,
        backbone: str = "ferresnet_s",
        num_classes: int = 7,
        in_chans: int = 1,
        regions: str | Sequence[Box] = "fixed5",
        crop_size: int | None = None,
        drop_rate: float = 0.2,
        backbone_kwargs: dict | None = None,
    ):
        super().__init__()
        if isinstance(regions, str):
            if regions not in REGION_PRESETS:
                raise ModelError(f"ran: unknown regions preset {regions!r}; choose from {', '.join(REGION_PRESETS)}")
            regions = REGION_PRESETS[regions]
        self.crops = RegionCrops(regions, crop_size)
        # named "encoder", not "backbone": weight loading strips a "backbone." prefix from foreign checkpoints
        self.encoder = create_model(backbone, num_classes=1, in_chans=in_chans, **(backbone_kwargs or {}))
        self.encoder.reset_classifier(0)  # only its forward_features is used
        dim = self.encoder.num_features
        self.self_attention = nn.Linear(dim, 1)  # q0
        self.relation_attention = nn.Linear(2 * dim, 1)  # q1
        self.add_head(2 * dim, num_classes, drop_rate)

    @property
    def num_regions(self) -> int:
        return self.crops.num_regions

    def region_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K, D) backbone features of the whole face (index 0) and every region, one backbone batch."""
        views = self.crops(x)
        b, k = views.shape[:2]
        return self.encoder.forward_features(views.flatten(0, 1)).view(b, k, -1)

    def attend(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(P_RAN (B, 2D), mu (B, K), nu (B, K))."""
        f = self.region_features(x)
        mu = torch.sigmoid(self.self_attention(f)).squeeze(-1)
        f_m = (mu.unsqueeze(-1) * f).sum(1) / mu.sum(1, keepdim=True)
        joint = torch.cat([f, f_m.unsqueeze(1).expand_as(f)], -1)
        nu = torch.sigmoid(self.relation_attention(joint)).squeeze(-1)
        w = mu * nu
        p = (w.unsqueeze(-1) * joint).sum(1) / w.sum(1, keepdim=True)
        return p, mu, nu

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.attend(x)[0]

    def forward_with_attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """(logits, features, {"mu": (B,K), "nu": (B,K)}); region 0 is the whole face."""
        p, mu, nu = self.attend(x)
        return self.forward_head(p), p, {"mu": mu, "nu": nu}


@register_model
def ran(
    num_classes: int = 7,
    in_chans: int = 1,
    backbone: str = "ferresnet_s",
    regions: str | list = "fixed5",
    crop_size: int | None = None,
    drop_rate: float = 0.2,
    backbone_kwargs: dict | None = None,
) -> RegionAttentionNet:
    """Region Attention Network over any registered backbone (``backbone=``); regions: a preset name
    (fixed5, landmarks4, fixed5+landmarks4) or a list of [x0, y0, x1, y1] fractions."""
    if isinstance(regions, list):
        regions = [tuple(r) for r in regions]
    return RegionAttentionNet(backbone, num_classes, in_chans, regions, crop_size, drop_rate, backbone_kwargs)
