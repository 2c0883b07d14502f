"""Shared fixtures. Real-data tests read FERKIT_DATA; under CI a missing data root fails instead of skipping."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# FERKIT_TEST_THREADS lets a busy machine run the suite on one core; CI uses both.
torch.set_num_threads(int(os.environ.get("FERKIT_TEST_THREADS", max(1, min(2, os.cpu_count() or 1)))))


def _real_data_root() -> Path | None:
    value = os.environ.get("FERKIT_DATA")
    if value and Path(value).is_dir():
        return Path(value)
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real dataset root (layout of ../shared/data)."""
    root = _real_data_root()
    if root is None:
        if os.environ.get("CI"):
            pytest.fail("FERKIT_DATA is not set to the real data root; CI must provide it")
        pytest.skip("real data not available: set FERKIT_DATA")
    return root


@pytest.fixture(scope="session")
def samples_dir(data_root: Path) -> Path:
    path = data_root / "samples"
    if not path.is_dir():
        pytest.fail(f"{path} missing")
    return path


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """A session-wide prepared-array cache (FERKIT_CACHE if set, so CI can reuse it between steps)."""
    value = os.environ.get("FERKIT_CACHE")
    if value:
        Path(value).mkdir(parents=True, exist_ok=True)
        return Path(value)
    return tmp_path_factory.mktemp("ferkit-cache")


@pytest.fixture(scope="session")
def untrained_fer2013_model(tmp_path_factory) -> Path:
    """A seeded, untrained ferresnet_s saved as a 7-class FER2013 model file (for plumbing tests)."""
    from ferkit.labels import FER2013_LABELS
    from ferkit.models import create_model
    from ferkit.models.checkpoint import save_model
    from ferkit.transforms.preprocess import Preprocess

    torch.manual_seed(0)
    model = create_model("ferresnet_s", num_classes=7).eval()
    return Path(save_model(tmp_path_factory.mktemp("untrained") / "fer2013.pt", model, FER2013_LABELS, Preprocess()))


def make_tiny_model(path: Path) -> Path:
    """A seeded, untrained 8-class (FERPlus) ferresnet_s with non-trivial batch-norm statistics, so its outputs
    depend on the input and probabilities differ between faces."""
    from ferkit.labels import FERPLUS_LABELS
    from ferkit.models import create_model
    from ferkit.models.checkpoint import save_model
    from ferkit.transforms.preprocess import Preprocess

    torch.manual_seed(0)
    model = create_model("ferresnet_s", num_classes=len(FERPLUS_LABELS))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    model.eval()
    return Path(save_model(path, model, FERPLUS_LABELS, Preprocess()))


def shipped_or_tiny_model(tmp_path_factory) -> str:
    """The shipped default model's name when installed, else a tiny model made here."""
    from ferkit import pretrained

    if pretrained.DEFAULT_MODEL in pretrained.available():
        return pretrained.DEFAULT_MODEL
    return str(make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pt"))


@pytest.fixture(scope="session")
def model_ref(tmp_path_factory) -> str:
    """The classifier of inference and export tests (see ``shipped_or_tiny_model``)."""
    return shipped_or_tiny_model(tmp_path_factory)
