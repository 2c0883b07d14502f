"""Any size, any colour: data.source_size / input_size / in_chans flow from the config through the readers, the
trainer, the checkpoint and ``ferkit evaluate``, which agree on accuracy for the same weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ferkit.cli.main import main as cli
from ferkit.models.checkpoint import load_model
from ferkit.training.config import load_config
from ferkit.training.trainer import train

COLOURS = {"happy": (200, 60, 40), "sad": (40, 70, 190), "neutral": (90, 160, 80)}


def make_rgb_folder(root, per_class: dict[str, int], size: int = 120, seed: int = 0):
    """root/<split>/<label>/*.png colour photos whose class shows in their colour (and a bright square)."""
    rng = np.random.default_rng(seed)
    for split, n in per_class.items():
        for label, rgb in COLOURS.items():
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                img = rng.normal(rgb, 35, (size, size, 3))
                y, x = rng.integers(10, size - 40, 2)
                img[y : y + 30, x : x + 30] = 255 - np.asarray(rgb)
                Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")


def test_rgb_image_folder_at_96_px_trains_and_evaluates_identically(tmp_path):
    data = tmp_path / "faces"
    make_rgb_folder(data, {"train": 24, "val": 12})
    out = tmp_path / "run"
    cfg = load_config(
        None,
        [
            f"data.data_root={data}",
            f"data.cache={tmp_path / 'cache'}",
            f"out_dir={out}",
            "data.dataset=imagefolder",
            "data.train_split=train",
            "data.val_split=val",
            "data.source_size=96",
            "data.input_size=80",
            "data.in_chans=3",
            "model.name=ferresnet_s",
            "optim.batch_size=16",
            "optim.lr=0.05",
            "epochs=2",
            "threads=1",
            "augment.erase=0",
        ],
    )
    train(cfg, progress=False)
    best = json.loads((out / "best_metrics.json").read_text())
    loaded = load_model(out / "best.pt")
    pre = loaded.preprocess
    assert (pre.source_size, pre.input_size, pre.in_chans) == (96, 80, 3) and len(pre.mean) == 3
    first_conv = next(m for m in loaded.model.modules() if isinstance(m, torch.nn.Conv2d))
    assert first_conv.in_channels == 3
    result_path = tmp_path / "eval.json"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(out / "best.pt"),
                "--dataset",
                "imagefolder",
                "--data-root",
                str(data),
                "--split",
                "val",
                "--json",
                str(result_path),
            ]
        )
        == 0
    )
    result = json.loads(result_path.read_text())
    assert result["n"] == 36
    assert result["accuracy"] == pytest.approx(best["accuracy"], abs=1e-9)  # in-training validation == evaluate
    assert best["accuracy"] > 0.5  # colour is learnable: it did train


@pytest.mark.realdata
def test_readers_deliver_the_configured_size_and_colour(tmp_path, data_root, cache_dir):
    from ferkit.data import load_dataset

    data = tmp_path / "faces"
    make_rgb_folder(data, {"train": 2})
    rgb = load_dataset("imagefolder", "train", data, size=96, in_chans=3, cache=tmp_path / "c", progress=False)
    grey = load_dataset("imagefolder", "train", data, size=64, cache=tmp_path / "c", progress=False)
    assert rgb.images.shape == (6, 96, 96, 3) and grey.images.shape == (6, 64, 64)
    assert len(list((tmp_path / "c").iterdir())) == 2  # size and colour are in the cache key
    fer = load_dataset("fer2013", "PublicTest", data_root, cache=cache_dir, size=96, in_chans=3, progress=False)
    assert fer.images.shape[1:] == (96, 96, 3)
