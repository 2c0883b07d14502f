"""Run by torchrun in test_distributed.py: trains briefly, then each rank saves its weights."""
import sys
from pathlib import Path

import torch

from ferkit.training.config import load_config
from ferkit.training.trainer import Trainer

out = Path(sys.argv[1])
trainer = Trainer(load_config(None, sys.argv[2:] + [f"out_dir={out}"]), progress=False)
rank = trainer.dist.rank
for epoch in range(trainer.cfg.epochs):
    trainer.train_one_epoch(epoch)
# parameters only: BatchNorm running statistics are per-replica by design (DDP re-broadcasts rank 0's
# buffers at each forward, and checkpoints are written by rank 0)
torch.save({k: v.detach().clone() for k, v in trainer.model.named_parameters()}, out / f"rank{rank}.pt")
