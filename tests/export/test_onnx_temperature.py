"""An exported ONNX file carries the model's calibration temperature, and loading it applies that temperature
(quick lane: a tiny seeded model and a tiny CSV, no shipped model or real data)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ferkit.cli.main import main as cli
from ferkit.data import load_dataset
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.export import export_onnx, read_onnx_metadata
from ferkit.export.onnx_model import load_onnx_model
from ferkit.inference.classifier import OnnxClassifier
from ferkit.labels import FER2013_LABELS
from ferkit.models import create_model
from ferkit.models.checkpoint import load_model, save_model
from ferkit.transforms.preprocess import Preprocess

TEMPERATURE = 2.5


@pytest.fixture(scope="module")
def calibrated_pair(tmp_path_factory):
    """(model.pt, model.onnx): a seeded ferresnet_s with confident logits and a stored temperature of 2.5."""
    folder = tmp_path_factory.mktemp("calibrated")
    torch.manual_seed(0)
    model = create_model("ferresnet_s", num_classes=len(FER2013_LABELS))
    with torch.no_grad():
        model.head.weight.mul_(50.0)  # logits far from 0, so T = 1 and T = 2.5 score very differently
    pt = save_model(
        folder / "calibrated.pt", model.eval(), FER2013_LABELS, Preprocess(), calibration={"temperature": TEMPERATURE}
    )
    return pt, export_onnx(load_model(pt), folder / "calibrated.onnx")


def test_the_temperature_travels_and_is_loaded(calibrated_pair):
    _, onnx_path = calibrated_pair
    assert read_onnx_metadata(onnx_path)["temperature"] == TEMPERATURE
    assert load_onnx_model(onnx_path).temperature == TEMPERATURE
    assert OnnxClassifier(onnx_path, threads=1).temperature == TEMPERATURE


def test_evaluating_the_onnx_file_applies_its_temperature(calibrated_pair, tmp_path, monkeypatch):
    pt, onnx_path = calibrated_pair
    rng = np.random.default_rng(0)
    rows = [f"{i % 7},{' '.join(map(str, rng.integers(0, 256, 48 * 48)))},PublicTest" for i in range(24)]
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("FERKIT_CACHE", str(tmp_path / "cache"))
    results = {}
    for name, model in (("pt", pt), ("onnx", onnx_path)):
        out = tmp_path / f"{name}.json"
        assert (
            cli(
                [
                    "evaluate",
                    "--model",
                    str(model),
                    "--dataset",
                    "fer2013",
                    "--data-root",
                    str(tmp_path),
                    "--json",
                    str(out),
                ]
            )
            == 0
        )
        results[name] = json.loads(out.read_text())
    assert results["onnx"]["temperature"] == results["pt"]["temperature"] == TEMPERATURE
    assert results["onnx"]["nll"] == pytest.approx(results["pt"]["nll"], abs=1e-4)
    # the temperature matters here: the same logits scored at T = 1 give another NLL
    uncalibrated = load_onnx_model(onnx_path)
    uncalibrated.temperature = 1.0
    raw = evaluate_model(uncalibrated, load_dataset("fer2013", "PublicTest", tmp_path, progress=False))
    assert abs(raw["nll"] - results["onnx"]["nll"]) > 0.1
