"""The step loop reads nothing back from the device: host reads per epoch do not grow with the step count."""

from __future__ import annotations

import numpy as np
import torch

from ferkit.data import ArrayDataset
from ferkit.labels import FER2013_LABELS
from ferkit.training.config import load_config
from ferkit.training.trainer import Trainer

READS = ("item", "tolist", "__bool__", "__int__", "__float__", "__index__", "numpy")


def _reads_during_epoch(trainer: Trainer, steps: int, monkeypatch) -> int:
    count = [0]
    for name in READS:
        real = getattr(torch.Tensor, name)

        def spy(self, *a, _real=real, **k):
            count[0] += 1
            return _real(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, spy)
    trainer.train_one_epoch(0, max_steps=steps)
    monkeypatch.undo()
    return count[0]


def test_host_reads_do_not_grow_with_steps(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    ds = ArrayDataset(
        images=rng.integers(0, 256, (96, 48, 48), dtype=np.uint8),
        targets=rng.integers(0, 7, 96).astype(np.int64),
        labels=FER2013_LABELS,
        name="s",
        split="t",
    )
    cfg = load_config(
        None,
        [
            "model.name=ferresnet_s",
            "optim.batch_size=8",
            "ema_decay=0.9",
            "threads=1",
            f"out_dir={tmp_path}",
            "loss.name=center",
        ],
    )
    trainer = Trainer(cfg, progress=False, datasets=(ds, {"main": ds}))
    few, many = _reads_during_epoch(trainer, 2, monkeypatch), _reads_during_epoch(trainer, 10, monkeypatch)
    assert many == few, (few, many)  # a per-step float(loss) / int(correct) would add 8 reads
