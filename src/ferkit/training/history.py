"""Run logging: metrics.csv, one line per epoch on stderr, TensorBoard scalars (optional), curves.png."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from ferkit.io_utils import atomic_write

log = logging.getLogger(__name__)


def write_history(out: Path, history: list[dict]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(history)

    atomic_write(out / "metrics.csv", write)


def format_row(row: dict) -> str:
    return " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


class TensorBoardLog:
    """Scalars to OUT/tensorboard when the tensorboard package is installed (optional)."""

    def __init__(self, out: Path):
        self.out, self.writer, self.tried = out, None, False

    def log(self, row: dict) -> None:
        if not self.tried:
            self.tried = True
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.out / "tensorboard"))
            except Exception:  # tensorboard not installed: CSV + PNG curves only
                self.writer = None
        if self.writer is not None:
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)):
                    self.writer.add_scalar(key, value, row["epoch"])
            self.writer.flush()


def plot_curves(history: list[dict], path: Path) -> None:
    try:
        from ferkit.evaluation.plots import plot_history

        plot_history(history, path)
    except Exception as e:  # a plotting problem must not lose a finished run
        log.warning("could not plot training curves: %s", e)
