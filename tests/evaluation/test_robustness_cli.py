"""``ferkit evaluate --perturb``, cross-dataset evaluation and ``ferkit features`` on tiny real subsets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ferkit.cli.main import main as cli
from ferkit.labels import FER2013_LABELS

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def model_file(untrained_fer2013_model):
    return str(untrained_fer2013_model)


def test_evaluate_perturb_reports_accuracy_vs_clean(model_file, data_root, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = cli(
        [
            "evaluate",
            "--model",
            model_file,
            "--dataset",
            "fer2013",
            "--data-root",
            str(data_root),
            "--subset",
            "40",
            "--perturb",
            "occlude_eyes",
            "blur",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    rows = result["perturbations"]["results"]
    assert [r["name"] for r in rows] == ["occlude_eyes", "blur_1.0", "blur_2.0"]
    assert result["perturbations"]["clean"]["accuracy"] == result["accuracy"]
    for r in rows:
        assert r["delta_accuracy"] == pytest.approx(r["accuracy"] - result["accuracy"])
    assert "accuracy under perturbations" in capsys.readouterr().out
    assert (
        cli(
            [
                "evaluate",
                "--model",
                model_file,
                "--dataset",
                "fer2013",
                "--data-root",
                str(data_root),
                "--subset",
                "10",
                "--perturb",
                "sunburn",
            ]
        )
        == 2
    )


def test_fer2013_model_on_ckplus_drops_contempt(model_file, data_root, tmp_path):
    out = tmp_path / "ck.json"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                model_file,
                "--dataset",
                "ckplus",
                "--split",
                "fold0",
                "--data-root",
                str(data_root),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert "contempt" not in result["labels"] and len(result["labels"]) == 6
    assert result["n"] + result["n_dropped"] > result["n"] > 0  # contempt images are dropped, not scored


def test_features_command_writes_penultimate_features(model_file, data_root, tmp_path):
    from ferkit.evaluation.features import load_features

    out = tmp_path / "f.npz"
    assert (
        cli(
            [
                "features",
                "--model",
                model_file,
                "--dataset",
                "fer2013",
                "--split",
                "PublicTest",
                "--data-root",
                str(data_root),
                "--subset",
                "20",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    f = load_features(out)
    assert f["features"].shape == (20, 256) and f["logits"].shape == (20, 7)
    assert f["labels"] == FER2013_LABELS and f["dataset"] == "fer2013" and f["split"] == "PublicTest"
    assert np.isfinite(f["features"]).all()
