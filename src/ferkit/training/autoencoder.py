"""Unsupervised pre-training of a backbone as a denoising autoencoder on face crops (labels never read).

``pretrain_autoencoder(cfg)`` writes ``cfg.out`` = {"model": encoder state_dict, "arch", "config",
"history"}; fine-tune from it with ``model.pretrained=<that file>`` (same ``model.name`` as ``backbone``).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ferkit.data import load_dataset
from ferkit.errors import ConfigError
from ferkit.io_utils import atomic_write
from ferkit.models.autoencoder import DenoisingAutoencoder, corrupt
from ferkit.training import feed
from ferkit.training.typed import load_typed
from ferkit.transforms.preprocess import Preprocess, to_float


@dataclass
class AEConfig:
    backbone: str = "ferresnet_s"
    backbone_kwargs: dict = field(default_factory=dict)
    dataset: str = "fer2013"
    # Training only by default: PublicTest is the reported split, and using its images even without labels
    # would make the comparison transductive.
    splits: list[str] = field(default_factory=lambda: ["Training"])
    subset: int | None = None  # first N images after a seeded shuffle (quick runs, tests)
    data_root: str | None = None
    cache: str | None = None
    source_size: int = 48
    input_size: int = 40
    mean: float = 0.5
    std: float = 0.25
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-5
    noise_std: float = 0.2
    mask_prob: float = 0.25
    flip: bool = True
    seed: int = 0
    threads: int | None = None
    max_minutes: float | None = None  # stop after this wall time (an equal-CPU-time budget)
    out: str = "runs/autoencoder/encoder.pt"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_ae_config(path: str | Path | None = None, overrides: list[str] | None = None) -> AEConfig:
    cfg = load_typed(AEConfig, path, overrides)
    if cfg.input_size > cfg.source_size:
        raise ConfigError("input_size must not exceed source_size")
    return cfg


def unlabelled_images(cfg: AEConfig) -> np.ndarray:
    images = np.concatenate(
        [np.asarray(load_dataset(cfg.dataset, s, cfg.data_root, cache=cfg.cache).images) for s in cfg.splits]
    )
    if cfg.subset is not None:
        images = images[np.random.default_rng(cfg.seed).permutation(len(images))[: cfg.subset]]
    return images


def random_crops(x: torch.Tensor, size: int, flip: bool, g: torch.Generator) -> torch.Tensor:
    """One random size x size crop per batch (shift augmentation) and per-sample horizontal flips."""
    s = x.shape[-1]
    top, left = (int(v) for v in torch.randint(0, s - size + 1, (2,), generator=g))
    x = x[..., top : top + size, left : left + size]
    if flip:
        mask = torch.rand(len(x), generator=g) < 0.5
        x = torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)
    return x


def pretrain_autoencoder(cfg: AEConfig, progress: bool = False) -> dict:
    """Train the autoencoder; returns {"path", "history", "seconds"}."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    g = torch.Generator().manual_seed(cfg.seed)
    images = unlabelled_images(cfg)
    pre = Preprocess(cfg.source_size, cfg.input_size, 1, [cfg.mean], [cfg.std])
    model = DenoisingAutoencoder(cfg.backbone, 1, cfg.backbone_kwargs)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    history, started = [], time.time()
    for epoch in range(cfg.epochs):
        model.train()
        order = feed.epoch_order(len(images), epoch, cfg.seed)
        total, n = 0.0, 0
        for idx in feed.batches(order, cfg.batch_size):
            clean = pre.normalise(random_crops(to_float(images[idx]), cfg.input_size, cfg.flip, g))
            loss = F.mse_loss(model(corrupt(clean, cfg.noise_std, cfg.mask_prob, g)), clean)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, n = total + loss.item(), n + 1
            if cfg.max_minutes is not None and time.time() - started > cfg.max_minutes * 60:
                break
        history.append({"epoch": epoch + 1, "loss": total / max(n, 1), "seconds": time.time() - started})
        if progress:
            print(f"autoencoder epoch {epoch + 1}/{cfg.epochs} loss {total / max(n, 1):.4f}", file=sys.stderr)
        if cfg.max_minutes is not None and time.time() - started > cfg.max_minutes * 60:
            break
    seconds = time.time() - started
    payload = {
        "model": model.encoder_state(),
        "arch": cfg.backbone,
        "config": cfg.to_dict(),
        "history": history,
        "seconds": seconds,
    }
    path = atomic_write(cfg.out, lambda tmp: torch.save(payload, tmp))
    return {"path": str(path), "history": history, "seconds": seconds}
