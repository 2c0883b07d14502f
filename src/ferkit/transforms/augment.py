"""Online augmentation on whole batches of tensors (one affine resample per batch, no per-image Python).

``BatchAugment`` takes float (B,C,S,S) images in [0,1] at the source size and returns (B,C,I,I) crops at
the network's input size. Optional degradations of real photos come first, at the source size, each on a
random share of the batch (``ferkit.transforms.degrade``): Gaussian blur, a low-resolution round trip and
JPEG compression (all off by default; an op that is off draws no random numbers, so runs without them keep
their random stream). Then a random crop, flip, rotation, scale and translation are one affine warp;
photometric jitter, noise and random erasing (synthetic occlusion) follow. Every random draw comes from one
generator on the images' device, so augmentation runs where the batch lives (a GPU feed never returns to the
host) and a resumed run continues the same random stream.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from ferkit.transforms import degrade


@dataclass
class AugmentConfig:
    flip: float = 0.5  # probability of a horizontal flip
    rotate: float = 10.0  # max degrees, uniform in [-rotate, rotate]
    scale: float = 0.1  # zoom factor in [1-scale, 1+scale]
    translate: float = 0.1  # max shift as a fraction of the source size (random-crop jitter)
    brightness: float = 0.3  # additive shift in [-b, b] * 0.5
    contrast: float = 0.3  # multiplicative factor in [1-c, 1+c]
    noise: float = 0.0  # std of Gaussian noise in [0,1] units
    erase: float = 0.5  # probability of one random-erasing rectangle (occlusion)
    erase_area: tuple[float, float] = (0.02, 0.25)
    # Degradations of real photos (probabilities, 0 = off), applied before the warp at the source size:
    blur: float = 0.0  # probability of a Gaussian blur
    blur_sigma: tuple[float, float] = (0.5, 1.5)  # its sigma in source pixels, uniform in the range
    downscale: float = 0.0  # probability of a low-resolution round trip (area down, bilinear up)
    downscale_min: float = 0.5  # smallest side kept, as a fraction of the source side (uniform in [min, 1])
    jpeg: float = 0.0  # probability of JPEG compression artefacts
    jpeg_quality: tuple[int, int] = (30, 90)  # JPEG quality, uniform integer in the range

    def to_dict(self) -> dict:
        return asdict(self)


def affine_matrices(
    batch: int,
    cfg: AugmentConfig,
    crop_ratio: float,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Random (B,2,3) matrices for ``F.affine_grid`` (normalised coordinates, output->input mapping)."""

    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(batch, generator=generator, device=device) * (hi - lo) + lo

    angle = u(-cfg.rotate, cfg.rotate) * math.pi / 180
    scale = crop_ratio / u(1 - cfg.scale, 1 + cfg.scale)  # >1 zoom shows less of the face
    flip = torch.where(u(0, 1) < cfg.flip, -1.0, 1.0)
    tx, ty = u(-cfg.translate, cfg.translate) * 2, u(-cfg.translate, cfg.translate) * 2
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1)
    return theta


class BatchAugment:
    """Seeded batch augmentation on ``device`` (the device of the batches it will be given)."""

    def __init__(
        self,
        cfg: AugmentConfig,
        input_size: int,
        source_size: int,
        seed: int | None = None,
        device: torch.device | str = "cpu",
    ):
        self.cfg, self.input_size, self.source_size = cfg, input_size, source_size
        self.generator = torch.Generator(device=device)
        if seed is not None:
            self.generator.manual_seed(seed)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"].cpu())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        g, cfg, dev = self.generator, self.cfg, x.device
        x = degrade_batch(x, cfg, g)
        theta = affine_matrices(b, cfg, self.input_size / self.source_size, g, dev).to(x.dtype)
        grid = F.affine_grid(theta, [b, c, self.input_size, self.input_size], align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        if cfg.contrast or cfg.brightness:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            contrast = 1 + (torch.rand(b, 1, 1, 1, generator=g, device=dev) * 2 - 1) * cfg.contrast
            bright = (torch.rand(b, 1, 1, 1, generator=g, device=dev) * 2 - 1) * cfg.brightness * 0.5
            x = (x - mean) * contrast + mean + bright
        if cfg.noise:
            x = x + torch.randn(x.shape, generator=g, device=dev) * cfg.noise
        x = x.clamp_(0, 1)
        if cfg.erase:
            x = random_erase(x, cfg.erase, cfg.erase_area, g)
        return x


def degrade_batch(
    x: torch.Tensor, cfg: AugmentConfig, g: torch.Generator | None = None, subset: bool | None = None
) -> torch.Tensor:
    """Blur, low-resolution round trip and JPEG, each on a random share of the batch; disabled ops draw nothing.

    Each enabled op draws, for every image, whether it applies and its parameter (a fixed number of draws per
    batch). ``subset`` (default: on the CPU) runs the op on the chosen images only, which needs their indices on
    the host; otherwise it runs on the whole batch and keeps the result where chosen, so a GPU feed never waits
    for the device. The ops treat every image on its own, so both give the chosen images the same values."""
    b, dev = x.shape[0], x.device
    subset = dev.type == "cpu" if subset is None else subset

    def rand() -> torch.Tensor:
        return torch.rand(b, generator=g, device=dev)

    def apply(x: torch.Tensor, p: float, op, param: torch.Tensor) -> torch.Tensor:
        mask = rand() < p
        if not subset:
            return torch.where(mask.view(-1, 1, 1, 1), op(x, param), x)
        chosen = mask.nonzero().squeeze(1)
        param = param[chosen]
        if not len(chosen):
            return x
        out = x.clone()
        out[chosen] = op(x[chosen], param)
        return out

    if cfg.blur:
        lo, hi = cfg.blur_sigma
        x = apply(x, cfg.blur, lambda im, s: degrade.gaussian_blur(im, s, max_sigma=hi), lo + rand() * (hi - lo))
    if cfg.downscale:
        x = apply(x, cfg.downscale, degrade.downscale, cfg.downscale_min + rand() * (1 - cfg.downscale_min))
    if cfg.jpeg:
        lo, hi = cfg.jpeg_quality
        x = apply(x, cfg.jpeg, degrade.jpeg, (lo + rand() * (hi - lo + 1)).floor().clamp(max=hi))
    return x


def random_erase(
    x: torch.Tensor, p: float, area: tuple[float, float], g: torch.Generator | None = None
) -> torch.Tensor:
    """Fill one random rectangle per selected image with uniform noise (vectorised with masks)."""
    b, _, h, w = x.shape
    dev = x.device

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g, device=dev)

    chosen = rand(b) < p
    frac = rand(b) * (area[1] - area[0]) + area[0]
    aspect = torch.exp((rand(b) * 2 - 1) * math.log(3))
    eh = (torch.sqrt(frac * aspect) * h).clamp(1, h).long()
    ew = (torch.sqrt(frac / aspect) * w).clamp(1, w).long()
    y0 = (rand(b) * (h - eh + 1).float()).long()
    x0 = (rand(b) * (w - ew + 1).float()).long()
    ys = torch.arange(h, device=dev).view(1, h, 1)
    xs = torch.arange(w, device=dev).view(1, 1, w)
    mask = (
        (ys >= y0.view(-1, 1, 1))
        & (ys < (y0 + eh).view(-1, 1, 1))
        & (xs >= x0.view(-1, 1, 1))
        & (xs < (x0 + ew).view(-1, 1, 1))
        & chosen.view(-1, 1, 1)
    )
    noise = rand(*x.shape).to(x.dtype)
    return torch.where(mask.unsqueeze(1), noise, x)
