"""lab/tools/ferplus_schemes.py writes its comparison page from finished runs alone (--report-only: no training)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARMS = ("mv", "cel", "ml", "pld", "mv_offline")


def _finished_run(folder: Path, accuracy: float, correct: list[bool]) -> None:
    folder.mkdir(parents=True)
    folder.joinpath("eval.json").write_text(
        json.dumps({"accuracy": accuracy, "accepted_accuracy": accuracy + 0.05, "macro_f1": accuracy - 0.2})
    )
    rows = ["id,group,label,predicted,confidence,correct"]
    for i, ok in enumerate(correct):
        rows.append(f"row{i},row{i},happiness,{'happiness' if ok else 'neutral'},0.9,{int(ok)}")
    folder.joinpath("predictions.csv").write_text("\n".join(rows) + "\n")


def test_report_only_tables_finished_seeds_with_paired_intervals(tmp_path):
    runs = tmp_path / "runs"
    n = 40
    for seed in (0, 1):
        for k, arm in enumerate(ARMS):
            hits = [i < 20 + 4 * k for i in range(n)]  # every arm beats MV by 4 items more than the last
            _finished_run(runs / f"{arm}_seed{seed}", (20 + 4 * k) / n + 0.01 * seed, hits)
    _finished_run(runs / "mv_seed2", 0.5, [True] * n)  # seed 2 unfinished for the other arms: left out
    page = tmp_path / "page.md"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "lab/tools/ferplus_schemes.py"),
            "--report-only",
            "--seeds",
            "0",
            "1",
            "2",
            "--runs",
            str(runs),
            "--output",
            str(page),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    text = page.read_text()
    assert "Seeds: 0, 1 " in text  # seed 2 did not finish every arm
    assert "| `pld` | PLD: probabilistic label drawing | 80.50 ± 0.71 | 85.50 ± 0.71 |" in text
    record = json.loads(page.with_suffix(".json").read_text())
    pooled = record["pooled"]["pld"]
    assert pooled["difference_points"] == pytest.approx(30.0) and pooled["n_items"] == 2 * n and pooled["n_groups"] == n
    assert record["per_seed"]["cel_seed1"]["difference_points"] == pytest.approx(10.0)
    assert "--report-only" not in record["command"]  # the page names the command that trains the runs
