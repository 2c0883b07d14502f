"""A model described by a spec runs end to end: `ferkit predict --model`, `ferkit evaluate`, the web service."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ferkit.cli.main import main as cli


@pytest.fixture(scope="module")
def spec_model(tmp_path_factory):
    """The shipped fer2013 model exported, with its model spec as a JSON file beside the ONNX file (so ferkit runs
    it as it would run any third-party model) and its labels spelt another way."""
    import onnx

    from ferkit.export import export_onnx

    folder = tmp_path_factory.mktemp("spec")
    native = export_onnx("fer2013", folder / "native.onnx")
    spec = json.loads({p.key: p.value for p in onnx.load(str(native)).metadata_props}["model_spec"])
    spec["labels"] = [
        {
            "anger": "Angry",
            "happiness": "happy",
            "sadness": "sad",
            "fear": "fearful",
        }.get(x, x)
        for x in spec["labels"]
    ]
    model = folder / "third_party.onnx"
    shutil.copy(native, model)
    model.with_suffix(".json").write_text(json.dumps(spec))
    return native, model


def test_predict_cli_runs_a_spec_model(spec_model, samples_dir, tmp_path):
    native, model = spec_model
    docs = {}
    for name, path in (("native", native), ("spec", model)):
        out = tmp_path / f"{name}.json"
        assert (
            cli(
                [
                    "predict",
                    str(samples_dir / "images" / "group.jpeg"),
                    "--model",
                    str(path),
                    "--json",
                    str(out),
                    "--quiet",
                    "--threads",
                    "1",
                ]
            )
            == 0
        )
        docs[name] = json.loads(out.read_text())
    assert docs["spec"]["labels"] == docs["native"]["labels"]  # spellings mapped to ferkit's vocabulary
    a, b = docs["native"]["images"][0]["faces"], docs["spec"]["images"][0]["faces"]
    assert len(a) == len(b) >= 5
    for x, y in zip(a, b):
        assert x["label"] == y["label"]
        assert np.allclose(
            list(x["probabilities"].values()),
            list(y["probabilities"].values()),
            atol=1e-3,
        )


@pytest.mark.realdata
def test_evaluate_runs_a_spec_model(spec_model, data_root, tmp_path):
    native, model = spec_model
    results = {}
    for name, path in (("native", native), ("spec", model)):
        out = tmp_path / f"{name}.json"
        assert (
            cli(
                [
                    "evaluate",
                    "--model",
                    str(path),
                    "--dataset",
                    "fer2013",
                    "--subset",
                    "300",
                    "--data-root",
                    str(data_root),
                    "--json",
                    str(out),
                ]
            )
            == 0
        )
        results[name] = json.loads(out.read_text())
    assert results["spec"]["n"] == results["native"]["n"] == 300
    assert results["spec"]["accuracy"] == pytest.approx(results["native"]["accuracy"], abs=1 / 300)
    assert results["spec"]["nll"] == pytest.approx(results["native"]["nll"], abs=1e-3)


def test_web_service_runs_a_spec_model(spec_model, samples_dir):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from ferkit.web import create_app

    _, model = spec_model
    app = create_app(str(model), allowed_hosts=("testserver",), threads=1)
    with TestClient(app) as client:
        data = (samples_dir / "images" / "group.jpeg").read_bytes()
        body = client.post("/v1/predict", files={"file": ("g.jpeg", data, "image/jpeg")}).json()
        assert len(body["faces"]) >= 5 and body["labels"][0] == "anger"
        assert client.get("/v1/models").json()["loaded"]["name"] == "third_party"


def test_bad_spec_is_one_cli_line(spec_model, samples_dir, tmp_path, capsys):
    _, model = spec_model
    bad = tmp_path / "bad.onnx"
    shutil.copy(model, bad)
    spec = json.loads(model.with_suffix(".json").read_text())
    bad.with_suffix(".json").write_text(json.dumps({**spec, "layout": "hwc"}))
    assert (
        cli(
            [
                "predict",
                str(samples_dir / "images" / "group.jpeg"),
                "--model",
                str(bad),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "'layout'" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
