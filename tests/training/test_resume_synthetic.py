"""Resume on a synthetic tiny run (quick lane): a run stopped after one epoch and resumed with `--resume` ends
with exactly the weights of the uninterrupted run. Dropout draws from torch's global generator, so this holds
only when the resume restores that generator's state as well as the weights, optimizer and augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.cli.main import main as cli


def write_random_fer_csv(path, n_train: int = 24, n_val: int = 8, seed: int = 0):
    """A FER2013 CSV of random faces (seeded): n_train Training rows, n_val PublicTest rows."""
    rng = np.random.default_rng(seed)
    lines = ["emotion,pixels,Usage"]
    for i in range(n_train + n_val):
        pixels = " ".join(map(str, rng.integers(0, 256, 48 * 48)))
        lines.append(f"{i % 7},{pixels},{'Training' if i < n_train else 'PublicTest'}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_random_fer_csv(root / "fer2013" / "fer2013.csv")
    return root


def train(data_root, out, *extra) -> int:
    return cli(
        [
            "train",
            "--no-progress",
            f"out_dir={out}",
            f"data.data_root={data_root}",
            f"data.cache={data_root / 'cache'}",
            "model.name=ferresnet_s",
            "model.drop_rate=0.5",
            "optim.batch_size=8",
            "epochs=2",
            "threads=1",
            "precision=fp32",
            "augment.erase=0",
            *extra,
        ]
    )


def test_resumed_run_matches_the_uninterrupted_one(tiny_data, tmp_path):
    assert train(tiny_data, tmp_path / "full") == 0
    assert train(tiny_data, tmp_path / "cut", "max_minutes=0") == 0  # stops after epoch 1
    cut = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert cut["train_state"]["epoch"] == 1
    torch.manual_seed(12345)  # whatever state the process is in
    assert train(tiny_data, tmp_path / "cut", "--resume") == 0
    full = torch.load(tmp_path / "full" / "last.pt", weights_only=True)
    resumed = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert [r["epoch"] for r in resumed["train_state"]["history"]] == [1, 2]
    for k, v in full["model"].items():
        assert torch.equal(v, resumed["model"][k]), k
    assert torch.equal(full["torch_rng"], resumed["torch_rng"])  # the generator went on where it was
