"""benchmarks/bench_train.py keeps its command-line and JSON contract (independent checks call it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_train_contract(tmp_path):
    out = tmp_path / "rows.json"
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "bench_train.py"),
        "--device",
        "cpu",
        "--models",
        "ferresnet_s",
        "--precision",
        "fp32",
        "bf16",
        "--batch-size",
        "16",
        "--seconds",
        "0.5",
        "--images",
        "64",
        "--threads",
        "1",
        "--warmup",
        "1",
        "--chunk",
        "2",
        "--json",
        str(out),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    for r in rows:
        assert {"model", "device", "precision", "batch_size", "img_per_s"} <= set(r)
        assert r["model"] == "ferresnet_s" and r["device"] == "cpu" and r["batch_size"] == 16 and r["img_per_s"] > 0
    assert "| ferresnet_s | cpu | bf16 | 16 |" in res.stdout  # the Markdown table
