"""`ferkit predict --workers N`: the same rows from one and from several worker processes; broken inputs are
error rows and the run goes on."""

from __future__ import annotations

import pytest

from ferkit.cli.main import main


def test_broken_inputs_become_error_rows(reference, collection):
    assert reference["rc"] == 1  # some inputs failed: the exit status says so
    errors = {dict(r)["path"]: dict(r)["error"] for r in reference["rows"]["errors"]}
    assert set(errors) == {str(collection / "broken.jpg"), str(collection / "truncated.jpg")}
    assert "truncated" in errors[str(collection / "truncated.jpg")]
    faces = {dict(r)["path"] for r in reference["rows"]["faces"]}
    assert len(faces) == 9  # every other photo and video has rows
    assert {dict(r)["path"] for r in reference["rows"]["tracks"]} == {
        str(collection / "sub" / f"clip{i}.mp4") for i in range(4)
    }


@pytest.mark.slow
def test_two_workers_give_the_same_rows(reference, collection, model_ref, tmp_path, parquet_rows):
    rc = main(
        [
            "predict",
            str(collection),
            "--model",
            model_ref,
            "--workers",
            "2",
            "--parquet",
            str(tmp_path / "pq"),
            "--csv",
            str(tmp_path / "rows.csv"),
            "-q",
        ]
    )
    assert rc == reference["rc"]
    assert parquet_rows(tmp_path / "pq") == reference["rows"]
    assert (tmp_path / "rows.csv").read_text() == reference["csv"]  # the CSV too, byte for byte, in input order
    assert (tmp_path / "rows_tracks.csv").read_text() == reference["tracks_csv"]


def test_parquet_folder_of_an_earlier_run_needs_resume(
    reference, collection, model_ref, tmp_path, capsys, parquet_rows
):
    folder = tmp_path / "pq"
    args = ["predict", str(collection / "group.jpeg"), "--model", model_ref, "--parquet", str(folder), "-q"]
    assert main(args) == 0
    assert main(args) == 2
    assert "add --resume" in capsys.readouterr().err
    assert main([*args, "--resume"]) == 0  # everything done already: nothing is analysed, rows unchanged
    assert parquet_rows(folder)["faces"] == [
        r for r in reference["rows"]["faces"] if dict(r)["path"] == str(collection / "group.jpeg")
    ]
    other = ["predict", str(collection / "angry.jpg"), "--model", model_ref, "--parquet", str(folder), "--resume"]
    assert main(other) == 2
    assert "another command" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--resume"], "--resume needs --parquet"),
        (["--address", "auto"], "--address is for --engine ray"),
        (["--workers", "0"], "must be >= 1"),
    ],
)
def test_usage_errors_before_any_work(extra, message, collection, capsys):
    try:
        rc = main(["predict", str(collection / "group.jpeg"), "--model", "no-such-model", *extra])
    except SystemExit as e:  # argparse's own usage errors
        rc = e.code
    assert rc == 2  # found before the (bad) model is loaded
    assert message in capsys.readouterr().err
