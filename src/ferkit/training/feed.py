"""Batches from in-memory uint8 arrays: seeded per-epoch order, optional class balancing, DDP sharding."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from ferkit.training.label_modes import draw_labels


def epoch_order(
    n: int, epoch: int, seed: int, weights: np.ndarray | None = None, rank: int = 0, world: int = 1
) -> np.ndarray:
    """Sample order for one epoch, a pure function of (seed, epoch) so a resumed run sees the same order."""
    rng = np.random.default_rng([seed, epoch])
    if weights is None:
        order = rng.permutation(n)
    else:
        order = rng.choice(n, size=n, replace=True, p=weights / weights.sum())
    usable = len(order) - len(order) % world
    return order[:usable][rank::world]


def balanced_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-sample weights giving each class equal expected frequency (labels < 0 get weight 0)."""
    counts = np.bincount(labels[labels >= 0], minlength=num_classes).astype(np.float64)
    w = np.zeros(len(labels))
    valid = labels >= 0
    w[valid] = 1.0 / np.maximum(counts[labels[valid]], 1)
    return w


def batches(order: np.ndarray, batch_size: int, drop_last: bool = True) -> Iterator[np.ndarray]:
    stop = len(order) - (len(order) % batch_size if drop_last else 0)
    for start in range(0, stop, batch_size):
        chunk = order[start : start + batch_size]
        if len(chunk):
            yield np.sort(chunk)  # sorted gathers are faster on memory maps; order within a batch is irrelevant


def device_batches(order: np.ndarray, batch_size: int, device: torch.device) -> torch.Tensor:
    """The full batches of an epoch's order as one (n_batches, batch_size) index tensor on ``device``, each row
    sorted as ``batches`` sorts it: uploaded once per epoch, so the step loop never touches the host."""
    n = len(order) // batch_size
    rows = np.sort(np.asarray(order[: n * batch_size]).reshape(n, batch_size), axis=1)
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64)).to(device)


def fits_on(device: torch.device, nbytes: int, share: float = 0.5) -> bool:
    """Whether ``nbytes`` fit in ``share`` of the device's free memory (always true for the CPU)."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= share * free


class DeviceFeed:
    """The prepared uint8 training set, moved once to the training device.

    ``batch(idx)`` gathers a batch there, augments it (``augment``, whose generator lives on the same device),
    normalises it (``normalise``) and returns it in the requested memory format, with its targets, the main-label
    mask (None when every sample has a label) and the auxiliary targets. A training set too large for half of
    the GPU's free memory stays in pinned host memory (``store``) and each batch is copied over asynchronously.
    With stored augmented views (``set_views``, offline distillation with ``loss.distill.views``) the batch is
    the selected view's crops (``select_view``), not a fresh augmentation.
    """

    def __init__(
        self,
        images: np.ndarray,
        targets: np.ndarray,
        device: torch.device,
        augment,
        normalise,
        mask: np.ndarray | None = None,
        aux: dict[str, np.ndarray] | None = None,
        channels_last: bool = False,
    ):
        self.device = device
        self.store = device if fits_on(device, int(np.asarray(images).nbytes)) else torch.device("cpu")
        x = torch.from_numpy(np.ascontiguousarray(images))
        x = x.unsqueeze(1) if x.ndim == 3 else x.permute(0, 3, 1, 2).contiguous()
        self.images = x.pin_memory() if self.store != device else x.to(device)
        t = np.asarray(targets)
        self.targets = torch.from_numpy(np.asarray(t, np.float32 if t.ndim == 2 else np.int64)).to(self.store)
        self.mask = None if mask is None or mask.all() else torch.from_numpy(np.asarray(mask, bool)).to(self.store)
        aux = aux or {}
        self.aux = {k: torch.from_numpy(np.asarray(v, np.int64)).to(self.store) for k, v in aux.items()}
        self.aux_masked = any(bool((np.asarray(v) < 0).any()) for v in aux.values())
        self.augment, self.normalise = augment, normalise
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.soft: dict[str, torch.Tensor] = {}  # offline distillation: per-sample soft targets per head
        self.views: torch.Tensor | None = None  # (K, N, C, I, I) uint8 augmented views, or None
        self.view = 0  # the view this epoch trains on
        self.draw: tuple[np.ndarray, int] | None = None  # PLD: (per-sample distributions, seed), see redraw

    def set_soft_targets(self, soft: dict[str, torch.Tensor]) -> None:
        """Per-sample soft targets per head ("main" or an auxiliary head), kept on ``store``: (N, L), or (K, N, L)
        with one set per stored view."""
        for head, t in soft.items():
            if t.shape[-2] != len(self.images):
                raise ValueError(
                    f"soft targets of head {head!r} cover {t.shape[-2]} samples, the feed has {len(self.images)}"
                )
            if t.ndim == 3 and (self.views is None or len(t) != len(self.views)):
                raise ValueError(
                    f"soft targets of head {head!r} are for {len(t)} views, the feed has "
                    f"{0 if self.views is None else len(self.views)}"
                )
        self.soft = {head: t.float().to(self.store) for head, t in soft.items()}

    def set_views(self, views: torch.Tensor) -> None:
        """Stored augmented views (K, N, C, I, I) uint8 of the training images, used instead of ``augment``."""
        if views.ndim != 5 or views.shape[1] != len(self.images):
            raise ValueError(f"views must be (K, {len(self.images)}, C, I, I), got {tuple(views.shape)}")
        self.views = views.to(self.store)

    def select_view(self, epoch: int) -> None:
        """Train ``epoch`` on view ``epoch mod K`` (no-op without stored views)."""
        self.view = epoch % len(self.views) if self.views is not None else 0

    def set_label_draw(self, distributions: np.ndarray, seed: int) -> None:
        """Probabilistic label drawing (data.mode=draw): each epoch's targets are one class per sample drawn
        from ``distributions`` (N, C) by ``redraw``."""
        if len(distributions) != len(self.images):
            raise ValueError(f"{len(distributions)} label distributions for {len(self.images)} images")
        self.draw = (np.asarray(distributions, np.float32), seed)

    def redraw(self, epoch: int) -> None:
        """Draw ``epoch``'s hard targets (no-op without ``set_label_draw``); a pure function of seed and epoch,
        so a resumed run trains on the same labels."""
        if self.draw is None:
            return
        self.targets = torch.from_numpy(draw_labels(self.draw[0], self.draw[1], epoch)).to(self.store)

    def soft_targets(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """The batch's offline soft targets per head ({} without offline distillation)."""
        return {head: self._move(t[self.view][idx] if t.ndim == 3 else t[idx]) for head, t in self.soft.items()}

    def __len__(self) -> int:
        return len(self.images)

    def _move(self, t: torch.Tensor) -> torch.Tensor:
        return t if self.store == self.device else t.to(self.device, non_blocking=True)

    def batch(self, idx: torch.Tensor):
        """idx: sample indices on ``store`` (see ``device_batches``)."""
        if self.views is not None:
            x = self._move(self.views[self.view][idx]).float().div_(255.0)
        else:
            x = self.augment(self._move(self.images[idx]).float().div_(255.0))
        x = self.normalise(x).contiguous(memory_format=self.memory_format)
        mask = self._move(self.mask[idx]) if self.mask is not None else None
        return x, self._move(self.targets[idx]), mask, {k: self._move(v[idx]) for k, v in self.aux.items()}
