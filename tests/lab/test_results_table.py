"""lab/results/: one row per run in runs.csv, a short index, no duplicate fragments."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from pathlib import Path

from lab_tools import load_tool

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "lab" / "results"


def test_rows_come_from_every_kind_of_record(tmp_path):
    table = load_tool("results_table")
    (tmp_path / "losses.json").write_text(
        json.dumps(
            {
                "argv": [],
                "rows": [
                    {
                        "config": "lab/configs/experiments/losses/fer2013_ce.yaml",
                        "dataset": "fer2013",
                        "model": "ferresnet_s",
                        "head": "main",
                        "epochs": 5,
                        "seed": 0,
                        "train_minutes": 4.97,
                        "n": 3589,
                        "accuracy": 0.4285,
                        "macro_f1": 0.31789,
                        "params": 1228711,
                    }
                ],
            }
        )
    )
    (tmp_path / "losses.md").write_text("# Losses\n")
    (tmp_path / "cross_a_to_b.json").write_text(
        json.dumps({"n": 10, "accuracy": 0.5, "macro_f1": 0.4, "dataset": "ckplus"})
    )
    (tmp_path / "distill.json").write_text(
        json.dumps({"rule": {}, "robustness": {"rows": {"clean": {"ferplus": {"before": 0.87, "distill": 0.88}}}}})
    )
    rows = table.collect_rows(tmp_path)
    assert [(r["experiment"], r["row"]) for r in rows] == [
        ("cross_dataset", "cross_a_to_b"),
        ("distill", "before (ferplus)"),
        ("distill", "distill (ferplus)"),
        ("losses", "fer2013_ce"),
    ]
    loss = rows[-1]
    assert (loss["top1"], loss["top1_err"], loss["macro_f1"], loss["param_count"], loss["source"]) == (
        42.85,
        57.15,
        0.3179,
        1228711,
        "losses.md",
    )
    assert rows[0]["split"] == "other dataset" and rows[0]["dataset"] == "ckplus"
    out = tmp_path / "runs.csv"
    table.write_csv(rows, out)
    assert out.read_text().splitlines()[0] == ",".join(table.COLUMNS) and len(out.read_text().splitlines()) == 5
    index = table.index_markdown(rows, [("losses.md", "Losses", "cmd"), ("gone.md", "Gone", "make it")], tmp_path)
    assert "| [Losses](losses.md) | 1 | `fer2013_ce` | 42.85 | 0.3179 |" in index
    assert "- Gone: not produced yet (`make it`)" in index


def test_runs_csv_and_index_are_current_and_short():
    """runs.csv is what collect_results.py makes of today's records (rerun it after adding one), and the index
    stays a page one can read: under 300 lines."""
    table = load_tool("results_table")
    rows = table.collect_rows(RESULTS)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=table.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    assert (RESULTS / "runs.csv").read_text() == buffer.getvalue(), "run python lab/tools/collect_results.py"
    assert len(rows) > 50 and all((RESULTS / r["source"]).is_file() for r in rows)
    index = (RESULTS / "README.md").read_text()
    assert len(index.splitlines()) < 300
    sections = load_tool("collect_results").sections()
    assert index == table.index_markdown(rows, sections, RESULTS), "run python lab/tools/collect_results.py"


def test_no_record_is_stored_twice():
    by_digest = defaultdict(list)
    for path in RESULTS.rglob("*"):
        if path.is_file() and path.name != "cost.json":  # a run's parameter count: equal for equal networks
            by_digest[hashlib.sha256(path.read_bytes()).hexdigest()].append(str(path.relative_to(RESULTS)))
    assert [sorted(group) for group in by_digest.values() if len(group) > 1] == []
