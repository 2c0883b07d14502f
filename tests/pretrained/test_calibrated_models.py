"""Shipped models carry a fitted temperature and every runtime applies exactly that temperature."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ferkit import EmotionRecognizer, pretrained
from ferkit.cli.main import main as cli
from ferkit.errors import ModelError
from ferkit.evaluation.calibration import softmax
from ferkit.export import export_onnx, read_onnx_metadata
from ferkit.models.checkpoint import load_model, read_file, write_calibration

SHIPPED = ("ferplus", "fer2013", "ferplus_large")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_carries_its_card_temperature(name):
    shipped = pretrained.available()[name]
    payload = read_file(shipped.weights)
    t = payload["calibration"]["temperature"]
    assert t > 0 and t != 1.0
    assert payload["calibration"]["split"] == "PublicTest"
    assert load_model(shipped.weights).temperature == t == shipped.summary["temperature"]
    card = shipped.card.read_text()
    assert "## Calibrated probabilities" in card and f"{name}_reliability.png" in card
    assert (shipped.weights.parent / f"{name}_reliability.png").is_file()
    after, before = payload["calibration"]["after"], payload["calibration"]["before"]
    assert after["nll"] < before["nll"]  # the fit lowered the NLL it minimised


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_recognizer_probabilities_are_softmax_of_logits_over_t(runtime, samples_dir):
    rec = EmotionRecognizer(model="ferplus", runtime=runtime, threads=1)
    t = pretrained.load("ferplus").temperature
    assert rec.classifier.temperature == pytest.approx(t)
    rgb = samples_dir / "images" / "happy-baby.jpeg"
    faces = rec.predict(rgb, tta="none")  # one view: the probabilities are the softmax of its logits
    assert faces
    from ferkit.media.images import as_rgb

    image = as_rgb(rgb)
    crops, _ = rec.align(image, rec.detect(image))
    logits, _ = rec.classify_crops(crops)
    got = np.array([[f.probabilities[k] for k in rec.labels] for f in faces])
    calibrated, raw = softmax(logits, t), softmax(logits)
    np.testing.assert_allclose(got, calibrated, atol=1e-5)
    # and not the raw softmax: a fitted T near 1 moves a confident face's probabilities only a little, so the
    # answer must sit much closer to the calibrated probabilities than the two sets of probabilities sit apart
    gap = np.abs(calibrated - raw).max()
    assert gap > 1e-6
    assert np.abs(got - calibrated).max() < gap / 20


def test_onnx_export_carries_temperature(tmp_path):
    path = export_onnx("fer2013", tmp_path / "m.onnx")
    assert read_onnx_metadata(path)["temperature"] == pytest.approx(pretrained.load("fer2013").temperature)


def test_write_calibration_round_trip_and_validation(untrained_fer2013_model, tmp_path):
    path = tmp_path / "m.pt"
    path.write_bytes(untrained_fer2013_model.read_bytes())
    assert load_model(path).temperature == 1.0  # a file without calibration: raw softmax
    before = read_file(path)["model"]
    write_calibration(path, {"temperature": 2.5, "split": "PublicTest"})
    assert load_model(path).temperature == 2.5
    for k, v in read_file(path)["model"].items():  # weights untouched
        assert torch.equal(v, before[k])
    with pytest.raises(ModelError, match="positive"):
        write_calibration(path, {"temperature": -1.0})
    with pytest.raises(ModelError, match="not a number"):
        write_calibration(path, {"temperature": "hot"})


@pytest.mark.realdata
def test_evaluate_json_reports_ece_nll_and_draws_reliability(data_root, tmp_path):
    out, png = tmp_path / "m.json", tmp_path / "rel.png"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                "fer2013",
                "--dataset",
                "fer2013",
                "--subset",
                "300",
                "--data-root",
                str(data_root),
                "--json",
                str(out),
                "--plot-reliability",
                str(png),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert 0 <= result["ece"] <= 1 and result["nll"] > 0
    assert result["temperature"] == pretrained.load("fer2013").temperature
    assert sum(result["reliability"]["count"]) == result["n"] == 300
    assert png.stat().st_size > 1000


@pytest.mark.realdata
def test_calibrate_command_fits_and_writes_a_copy(data_root, tmp_path):
    out = tmp_path / "cal.pt"
    assert (
        cli(
            [
                "calibrate",
                "--model",
                "fer2013",
                "--dataset",
                "fer2013",
                "--split",
                "PublicTest",
                "--data-root",
                str(data_root),
                "--output",
                str(out),
                "--json",
                str(tmp_path / "c.json"),
            ]
        )
        == 0
    )
    record = json.loads((tmp_path / "c.json").read_text())
    assert load_model(out).temperature == record["temperature"]
    # refitting the shipped file from raw logits reproduces the stored temperature
    assert record["temperature"] == pytest.approx(pretrained.load("fer2013").temperature, abs=1e-3)
    assert record["after"]["nll"] <= record["before"]["nll"]
