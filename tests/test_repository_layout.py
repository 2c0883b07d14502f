"""The product and the lab stay apart: weights are tracked only where they belong, and never twice."""

from __future__ import annotations

import hashlib
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".onnx", ".safetensors", ".tflite")
WEIGHT_HOMES = ("src/ferkit/pretrained/", "lab/")


def tracked_files() -> list[str]:
    """Paths git tracks in this checkout (skipped where the tests run outside a git checkout)."""
    try:
        done = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in done.stdout.decode().split("\0") if p]


def misplaced_weights(paths: list[str]) -> list[str]:
    """Tracked .pt files outside the shipped models' folder and the lab."""
    return [p for p in paths if p.endswith(".pt") and not p.startswith(WEIGHT_HOMES)]


def duplicate_weights(paths: list[str], root: Path) -> list[list[str]]:
    """Groups of tracked weight files with the same content (SHA-256), each group sorted."""
    by_digest = defaultdict(list)
    for p in paths:
        if p.endswith(WEIGHT_SUFFIXES) and (root / p).is_file():
            by_digest[hashlib.sha256((root / p).read_bytes()).hexdigest()].append(p)
    return sorted(sorted(group) for group in by_digest.values() if len(group) > 1)


def test_no_pt_file_is_tracked_outside_the_pretrained_folder_and_the_lab():
    assert misplaced_weights(tracked_files()) == []


def test_no_weight_file_is_tracked_twice():
    assert duplicate_weights(tracked_files(), ROOT) == []


def test_the_checks_catch_what_they_guard(tmp_path):
    (tmp_path / "a.pt").write_bytes(b"weights")
    (tmp_path / "b.onnx").write_bytes(b"weights")
    (tmp_path / "c.pt").write_bytes(b"other")
    assert duplicate_weights(["a.pt", "b.onnx", "c.pt"], tmp_path) == [["a.pt", "b.onnx"]]
    assert misplaced_weights(["weights/x.pt", "lab/weights/y.pt", "src/ferkit/pretrained/z.pt", "w.onnx"]) == [
        "weights/x.pt"
    ]
