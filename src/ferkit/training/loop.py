"""One training epoch: device-side batches, one optimiser step each, metrics read back once per epoch.

The step loop never waits for the device: loss, correct predictions and sample counts accumulate in device
tensors and are copied to the host once at the end of the epoch (and, without a progress bar, at most once a
minute for a heartbeat line). Under DDP the epoch's sums are all-reduced, so every rank reports the same
metrics for the whole data set.
"""

from __future__ import annotations

import sys
import time

import torch
from tqdm import tqdm

from ferkit.training import feed
from ferkit.training.build import Run
from ferkit.training.distributed import all_reduce_sum
from ferkit.training.precision import autocast

PROGRESS_EVERY = 25  # steps between progress-bar updates (each one reads the running loss back from the device)


def epoch_order(run: Run, epoch: int):
    """This rank's sample order for ``epoch`` (a pure function of seed and epoch: resumable)."""
    cfg, data = run.cfg, run.data
    labels = data.train_set.hard_labels
    if cfg.data.balanced_sampler:
        weights = feed.balanced_weights(labels, len(data.train_set.labels))
    else:
        weights = data.train_mask.astype("float64") if not data.train_mask.all() and not data.aux_labels else None
    return feed.epoch_order(len(labels), epoch, cfg.seed, weights, run.dist.rank, run.dist.world)


def start_epoch(run: Run, epoch: int) -> None:
    """Per-epoch set-up of the feed before the first step, each a pure function of the epoch (so --resume is
    exact): the stored view of offline distillation, the labels drawn for the epoch (data.mode=draw)."""
    run.feed.select_view(epoch)
    run.feed.redraw(epoch)


def train_one_epoch(run: Run, epoch: int, max_steps: int | None = None) -> dict:
    """Train ``epoch``; returns train_loss, train_acc, lr, train_img_per_s, epoch_seconds.

    ``max_steps``: stop early (benchmarks)."""
    cfg, dev = run.cfg, run.device
    run.step_module.train()
    bs = cfg.optim.batch_size
    start_epoch(run, epoch)
    rows = feed.device_batches(epoch_order(run, epoch), bs, run.feed.store)
    n_total = len(rows) if max_steps is None else min(len(rows), max_steps)
    loss_sum = torch.zeros((), device=dev, dtype=torch.float64)
    correct = torch.zeros((), device=dev, dtype=torch.int64)
    seen = torch.zeros((), device=dev, dtype=torch.int64)
    show = run.show
    bar = tqdm(total=n_total, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not show, leave=False)
    start = last_note = time.time()
    for i in range(n_total):
        run.schedule.set_lr(run.optimizer, epoch * run.schedule.steps_per_epoch + i)
        x, y, mask, aux = run.feed.batch(rows[i])
        with autocast(dev, run.precision):
            loss, logits = run.step_forward(x, y, mask, aux, run.feed.aux_masked, run.feed.soft_targets(rows[i]))
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        if run.ema is not None:
            run.ema.update()
        with torch.no_grad():
            hard = y if y.ndim == 1 else y.argmax(1)
            hit = logits.argmax(1) == hard
            if mask is not None:
                hit = hit & mask
            loss_sum += loss.detach()
            correct += hit.sum()
            seen += mask.sum() if mask is not None else len(y)
        if show:
            bar.update(1)
            if (i + 1) % PROGRESS_EVERY == 0:
                bar.set_postfix(
                    loss=f"{loss_sum.item() / (i + 1):.3f}",
                    acc=f"{correct.item() / max(seen.item(), 1):.3f}",
                    lr=f"{run.optimizer.param_groups[0]['lr']:.4f}",
                )
        elif run.dist.main and not run.progress and time.time() - last_note > 60:
            last_note = time.time()  # no progress bar (log file): a heartbeat line with rate and ETA
            rate = (i + 1) / (last_note - start)
            print(
                f"  epoch {epoch + 1} batch {i + 1}/{n_total} loss {loss_sum.item() / (i + 1):.3f} "
                f"{rate * bs:.0f} img/s eta {(n_total - i - 1) / rate:.0f}s",
                file=sys.stderr,
                flush=True,
            )
    bar.close()
    sums = torch.stack(
        [loss_sum, correct.double(), seen.double(), torch.full((), float(n_total), device=dev, dtype=torch.float64)]
    )
    all_reduce_sum(sums, run.dist)
    loss_total, n_correct, n_seen, batches = sums.tolist()  # the epoch's one read-back
    elapsed = time.time() - start
    return {
        "train_loss": loss_total / max(batches, 1),
        "train_acc": n_correct / max(n_seen, 1),
        "lr": run.optimizer.param_groups[0]["lr"],
        "train_img_per_s": n_total * bs / max(elapsed, 1e-9),
        "epoch_seconds": elapsed,
    }
