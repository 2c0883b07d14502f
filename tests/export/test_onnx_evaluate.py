"""`ferkit evaluate --model m.onnx` scores the exported file with its own labels and preprocessing."""

from __future__ import annotations

import json

import pytest

from ferkit.cli.main import main as cli
from ferkit.export import export_onnx


@pytest.mark.realdata
def test_evaluate_onnx_matches_pytorch(data_root, tmp_path):
    onnx_path = export_onnx("fer2013", tmp_path / "fer2013.onnx")
    results = {}
    for name, model in (("pt", "fer2013"), ("onnx", str(onnx_path))):
        out = tmp_path / f"{name}.json"
        assert (
            cli(
                [
                    "evaluate",
                    "--model",
                    model,
                    "--dataset",
                    "fer2013",
                    "--subset",
                    "400",
                    "--data-root",
                    str(data_root),
                    "--json",
                    str(out),
                ]
            )
            == 0
        )
        results[name] = json.loads(out.read_text())
    assert results["onnx"]["labels"] == results["pt"]["labels"]
    assert results["onnx"]["accuracy"] == pytest.approx(results["pt"]["accuracy"], abs=1 / 400)
    assert results["onnx"]["nll"] == pytest.approx(results["pt"]["nll"], abs=1e-3)  # same temperature applied
    assert results["onnx"]["temperature"] == results["pt"]["temperature"]


def test_evaluate_onnx_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx")
    assert cli(["evaluate", "--model", str(bad), "--dataset", "fer2013"]) == 2
    err = capsys.readouterr().err
    assert "not a readable ONNX model" in err and "Traceback" not in err
    assert cli(["evaluate", "--model", str(tmp_path / "missing.onnx"), "--dataset", "fer2013"]) == 2
    assert "not found" in capsys.readouterr().err
