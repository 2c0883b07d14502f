"""Offline distillation's set-up step: the teachers' soft targets of every training image (or of K stored
augmented views of it) are scored once, before the first epoch, and handed to the device feed; the teachers are
not needed after that (see ``distill.py`` for the method and the stored target file)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from tqdm import tqdm

from ferkit.training.config import TrainConfig
from ferkit.training.distill import Teachers, augmented_views, offline_targets
from ferkit.training.feed import DeviceFeed
from ferkit.transforms.augment import BatchAugment
from ferkit.transforms.preprocess import Preprocess

log = logging.getLogger(__name__)
VIEW_SEED = 7919  # offset of the stored views' generator from the run's seed (the training stream stays its own)


def feed_offline_targets(
    cfg: TrainConfig,
    feed: DeviceFeed,
    teachers: dict[str, Teachers],
    labels: dict[str, tuple[str, ...]],
    out: Path,
    preprocess: Preprocess,
    device: torch.device,
    precision: str,
    show: bool,
) -> None:
    """Score ``teachers`` (head -> its teachers) on the feed's images (read from OUT/teacher_targets.pt when it
    holds them) and set the soft targets, and with ``loss.distill.views`` the stored views, into ``feed``."""
    views = None
    if cfg.loss.distill.views:
        views = draw_views(cfg, feed, cfg.loss.distill.views, show)
        feed.set_views(views)
    targets = offline_targets(
        out / "teacher_targets.pt",
        teachers,
        labels,
        feed.images,
        preprocess,
        device,
        precision,
        progress=show,
        views=views,
    )
    feed.set_soft_targets(targets)


def draw_views(cfg: TrainConfig, feed: DeviceFeed, k: int, show: bool) -> torch.Tensor:
    """K augmented views of every training image, drawn with the run's augmentation from a generator of their own
    (seeded by the run's seed), so --resume draws the same views again."""
    d = cfg.data
    augment = BatchAugment(
        cfg.augment, d.input_size, d.source_size, seed=cfg.seed + VIEW_SEED, device=feed.images.device
    )
    log.info("offline distillation: drawing %d augmented views of %d training images", k, len(feed))
    with tqdm(total=k * len(feed), desc="views", unit="img", disable=not show, leave=False) as bar:
        return augmented_views(feed.images, augment, k, progress=bar.update)
