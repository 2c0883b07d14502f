"""A run killed half-way (SIGKILL: no clean-up at all) and started again with --resume ends with exactly the
rows of an uninterrupted run: none missing, none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ferkit.cli.main import main

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.slow
def test_sigkill_half_way_then_resume(reference, collection, model_ref, tmp_path, parquet_rows):
    folder = tmp_path / "pq"
    args = [
        "predict",
        str(collection),
        "--model",
        model_ref,
        "--workers",
        "1",
        "--parquet",
        str(folder),
        "--csv",
        str(tmp_path / "rows.csv"),
        "-q",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ferkit.cli.main", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    journal = folder / "_tasks"
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            if journal.is_dir() and len(list(journal.glob("*.json.gz"))) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed half-way"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    finished = len(list(journal.glob("*.json.gz")))
    assert 2 <= finished < 6  # 6 tasks: two batches of photos and four videos
    assert not (tmp_path / "rows.csv").exists()  # reports appear whole or not at all

    assert main([*args, "--resume"]) == reference["rc"]
    assert parquet_rows(folder) == reference["rows"]  # none missing, none twice
    assert (tmp_path / "rows.csv").read_text() == reference["csv"]
    assert (tmp_path / "rows_tracks.csv").read_text() == reference["tracks_csv"]
    assert len(list(journal.glob("*.json.gz"))) == 6
