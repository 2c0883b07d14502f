"""Per-item prediction files (``ferkit evaluate --predictions``, ``bench_realphotos.py --predictions``) and
``ferkit compare`` over them."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ferkit.cli.main import main as cli
from ferkit.errors import ConfigError
from ferkit.evaluation.predictions import pair, read_predictions, write_predictions

ROOT = Path(__file__).resolve().parents[2]


def _write(path, ids, labels, predicted, groups=None):
    write_predictions(path, ids, groups or ids, labels, predicted, [0.5] * len(ids))
    return path


def test_round_trip_and_pairing_by_id(tmp_path):
    a = _write(tmp_path / "a.csv", ["x", "y", "z"], ["happy", "sad", "fear"], ["happy", "", "anger"])
    b = _write(tmp_path / "b.csv", ["z", "x", "y"], ["fear", "happy", "sad"], ["fear", "sad", "sad"])
    pa = read_predictions(a)
    assert pa.ids == ["x", "y", "z"] and pa.correct.tolist() == [True, False, False]  # "" (no face) is wrong
    ca, cb, groups = pair(pa, read_predictions(b))
    assert ca.tolist() == [True, False, False] and cb.tolist() == [False, True, True] and groups == ["x", "y", "z"]


def test_unpairable_files_are_refused(tmp_path):
    a = read_predictions(_write(tmp_path / "a.csv", ["x", "y"], ["happy", "sad"], ["happy", "sad"]))
    with pytest.raises(ConfigError, match="share no item"):
        pair(a, read_predictions(_write(tmp_path / "b.csv", ["p", "q"], ["happy", "sad"], ["happy", "sad"])))
    with pytest.raises(ConfigError, match="1 only in the first"):
        pair(a, read_predictions(_write(tmp_path / "c.csv", ["x"], ["happy"], ["happy"])))
    with pytest.raises(ConfigError, match="disagree on the label"):
        pair(a, read_predictions(_write(tmp_path / "d.csv", ["x", "y"], ["happy", "fear"], ["happy", "sad"])))
    (tmp_path / "e.csv").write_text("name,score\nq,1\n")
    with pytest.raises(ConfigError, match="not a predictions file"):
        read_predictions(tmp_path / "e.csv")
    with pytest.raises(ConfigError, match="not found"):
        read_predictions(tmp_path / "missing.csv")
    (tmp_path / "f.csv").write_text("id,label,predicted\nx,happy,happy\nx,happy,sad\n")
    with pytest.raises(ConfigError, match="repeat"):
        read_predictions(tmp_path / "f.csv")


def test_compare_cli_reports_and_writes_json(tmp_path, capsys):
    n = 60
    ids = [str(i) for i in range(n)]
    labels = ["happy"] * n
    a = _write(tmp_path / "a.csv", ids, labels, ["happy"] * 30 + ["sad"] * 30)
    b = _write(tmp_path / "b.csv", ids, labels, ["happy"] * 50 + ["sad"] * 10)
    out = tmp_path / "cmp.json"
    assert (
        cli(["compare", str(a), str(b), "--name-a", "old", "--name-b", "new", "--boot", "500", "--json", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "new - old: +33.33 points" in text and "new better on 20, old better on 0" in text
    r = json.loads(out.read_text())
    assert r["n_items"] == n and r["ci_low"] > 0 and r["sign_test_p"] == pytest.approx(2 / 2**20)
    assert cli(["compare", str(a), str(tmp_path / "nope.csv")]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli(["compare", str(a), str(b), "--boot", "5"]) == 2


@pytest.mark.realdata
def test_evaluate_predictions_match_the_reported_accuracy(untrained_fer2013_model, data_root, tmp_path):
    res, pred = tmp_path / "r.json", tmp_path / "p.csv"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(untrained_fer2013_model),
                "--dataset",
                "fer2013",
                "--data-root",
                str(data_root),
                "--subset",
                "60",
                "--json",
                str(res),
                "--predictions",
                str(pred),
            ]
        )
        == 0
    )
    result = json.loads(res.read_text())
    p = read_predictions(pred)
    assert len(p.ids) == result["n"] == 60
    assert p.correct.mean() == pytest.approx(result["accuracy"])
    assert all(i.isdigit() and int(i) >= 28709 for i in p.ids)  # PublicTest rows of the FER2013 CSV
    # compared with itself: no difference, whatever the data
    assert cli(["compare", str(pred), str(pred), "--boot", "200"]) == 0


@pytest.mark.realdata
def test_ckplus_predictions_are_grouped_by_sequence(untrained_fer2013_model, data_root, tmp_path):
    pred = tmp_path / "ck.csv"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(untrained_fer2013_model),
                "--dataset",
                "ckplus",
                "--split",
                "fold0",
                "--data-root",
                str(data_root),
                "--predictions",
                str(pred),
            ]
        )
        == 0
    )
    with open(pred, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows and not any(r["label"] == "contempt" for r in rows)  # the 7-class model cannot say contempt
    for r in rows:
        assert Path(r["id"]).name.startswith(r["group"] + "_")  # anger/S010_004_00000017.png -> S010_004
    assert len({r["group"] for r in rows}) * 3 == len(rows)  # CK+48: the last three frames of a sequence


@pytest.mark.realdata
def test_bench_realphotos_writes_pairable_predictions(untrained_fer2013_model, data_root, tmp_path):
    data = tmp_path / "data"
    for cls in ("happy", "surprise"):
        folder = data / "ckplus" / "CK+48" / cls
        folder.mkdir(parents=True)
        for f in sorted((data_root / "ckplus" / "CK+48" / cls).glob("*.png"))[:6]:
            shutil.copy(f, folder / f.name)
    other = tmp_path / "other.pt"
    shutil.copy(untrained_fer2013_model, other)
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_realphotos.py"),
        "--models",
        f"{untrained_fer2013_model},{other}",
        "--detectors",
        "none",
        "--predictions",
        str(tmp_path / "pred"),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "FERKIT_DATA": str(data)})
    assert res.returncode == 0, res.stderr[-2000:]
    files = sorted((tmp_path / "pred").glob("CK_48*.csv"))
    assert len(files) == 2
    p = read_predictions(files[0])
    assert len(p.ids) == 12 and set(p.labels) == {"happiness", "surprise"}
    assert len(set(p.groups)) == 4 and all(i.startswith("ckplus/CK+48/") for i in p.ids)
    ca, cb, _ = pair(p, read_predictions(files[1]))
    assert np.array_equal(ca, cb)  # the same weights give the same answers
