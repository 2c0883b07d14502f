"""Training configs for the real-data tests: ferresnet_s on subsets of the real data root, cached in the session's
prepared-array cache, written to the test's own run folder.

Import from a test module of this folder (``from run_configs import tiny_config``); overrides come last, so a
test's own ``key=value`` wins over the presets.
"""

from __future__ import annotations

from pathlib import Path

from ferkit.training.config import TrainConfig, load_config

# 640 training and 320 validation images at two threads: an epoch in a few seconds, enough for the loss to fall.
SMALL = ("data.train_subset=640", "data.val_subset=320", "optim.batch_size=32", "optim.lr=0.05", "threads=2")
# 64 and 32 images, one epoch, one thread: for tests of set-up, resume and checkpoint plumbing.
TINY = ("data.train_subset=64", "data.val_subset=32", "optim.batch_size=32", "epochs=1", "threads=1")


def run_config(data_root: Path, cache_dir: Path, out: Path, *overrides: str) -> TrainConfig:
    """ferresnet_s on ``data_root`` (prepared arrays in ``cache_dir``) writing to ``out``, then ``overrides``."""
    return load_config(
        None,
        [
            f"data.data_root={data_root}",
            f"data.cache={cache_dir}",
            f"out_dir={out}",
            "model.name=ferresnet_s",
            *overrides,
        ],
    )


def small_config(data_root: Path, cache_dir: Path, out: Path, *extra: str) -> TrainConfig:
    """``run_config`` with the ``SMALL`` presets."""
    return run_config(data_root, cache_dir, out, *SMALL, *extra)


def tiny_config(data_root: Path, cache_dir: Path, out: Path, *extra: str) -> TrainConfig:
    """``run_config`` with the ``TINY`` presets."""
    return run_config(data_root, cache_dir, out, *TINY, *extra)
