"""Run by torchrun in test_trainer.py: trains briefly, then each rank saves its weights, loss centres and
epoch metrics."""

import sys
from pathlib import Path

import torch

from ferkit.training.config import load_config
from ferkit.training.trainer import Trainer

out = Path(sys.argv[1])
fit = sys.argv[2] == "--fit"  # the whole fit(): each rank saves the epochs it ran and its final LR
trainer = Trainer(load_config(None, sys.argv[2 + fit :] + [f"out_dir={out}"]), progress=False)
rank = trainer.dist.rank
if fit:
    trainer.fit()
    torch.save(
        {"epochs": trainer.state.epoch, "lr": [g["lr"] for g in trainer.optimizer.param_groups]},
        out / f"fit_rank{rank}.pt",
    )
    sys.exit(0)
metrics = [trainer.train_one_epoch(epoch) for epoch in range(trainer.cfg.epochs)]
# parameters only: BatchNorm running statistics are per-replica by design (DDP re-broadcasts rank 0's
# buffers at each forward, and checkpoints are written by rank 0)
torch.save(
    {
        "params": {k: v.detach().clone() for k, v in trainer.model.named_parameters()},
        "loss": {k: v.detach().clone() for k, v in trainer.loss.named_parameters()},
        "metrics": [{k: m[k] for k in ("train_loss", "train_acc")} for m in metrics],
    },
    out / f"rank{rank}.pt",
)
