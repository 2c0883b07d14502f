"""A run's progress: epochs completed, best validation accuracies and the per-epoch history (saved in
``last.pt``, so a resumed run knows where it stopped and whether it is finished)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TrainState:
    epoch: int = 0  # epochs completed
    best: dict[str, float] = field(default_factory=dict)  # head name -> best val accuracy
    history: list[dict] = field(default_factory=list)

    def best_epoch(self, key: str = "val_acc") -> int | None:
        """The first epoch with the best ``key`` in the history (None before any validation)."""
        rows = [r for r in self.history if key in r]
        return int(max(rows, key=lambda r: r[key])["epoch"]) if rows else None

    def stopped_early(self, patience: int | None) -> bool:
        """True once ``patience`` epochs have passed without a better main validation accuracy (kept in the
        history, so a resumed run that had stopped early stays stopped)."""
        best = self.best_epoch()
        return patience is not None and best is not None and self.epoch - best >= patience

    def finished(self, cfg) -> bool:
        """All planned epochs run, or stopped early by ``cfg.early_stop_patience``; False after a budget stop."""
        return self.epoch >= cfg.epochs or self.stopped_early(cfg.early_stop_patience)
