"""scripts/mutation.py's report: modules run here are counted from their results, the others keep the docs page's
row, and the equivalents list is checked only against the modules whose mutants were produced here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "mutation.py"
BEGIN, END = "<!-- mutation report: begin -->", "<!-- mutation report: end -->"
LABELS_ROW = "| labels | `labels.py` | 31 | 29 | 0 | 0 | 2 | 100.0% | 36 s |"


@pytest.fixture
def mutation(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("mutation_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "WORK", tmp_path / ".mutation")
    monkeypatch.setattr(module, "DOCS", tmp_path / "mutation.md")
    monkeypatch.setattr(module, "EQUIVALENT", tmp_path / "equivalent.txt")
    (tmp_path / ".mutation").mkdir()
    table = f"| module | ... |\n|---|\n{LABELS_ROW}\n| votes | | not run | | | | | | |"
    page = f"# Page\n\nbefore\n\n{BEGIN}\n{table}\n{END}\n\nafter\n"
    (tmp_path / "mutation.md").write_text(page)
    return module


def test_rows_run_here_and_rows_kept_from_the_page(mutation, tmp_path):
    s = "ferkit.inference.smoothing."
    results = {f"{s}x_a__mutmut_1": "killed", f"{s}x_a__mutmut_2": "timeout", f"{s}x_a__mutmut_3": "survived"}
    results[f"{s}x_a__mutmut_4"] = "survived"
    results[f"{s}x_a__mutmut_5"] = "no tests"
    (tmp_path / ".mutation" / "smoothing.json").write_text(json.dumps({"seconds": 12.4, "mutants": results}))
    (tmp_path / "equivalent.txt").write_text(
        f"# comment\n{s}x_a__mutmut_4 a reason\n{s}x_gone__mutmut_1 no longer made\nferkit.labels.x_b__mutmut_1 kept\n"
    )
    text = mutation.report(write_docs=False)
    lines = text.splitlines()
    assert LABELS_ROW in lines  # not run here: the page's row as it was
    assert "| smoothing | `inference/smoothing.py` | 5 | 2 | 1 | 1 | 1 | 50.0% | 12 s |" in lines
    assert "| votes | | not run | | | | | | |" in lines  # no results and no measured row
    assert "| **all** | | 36 | 31 | 1 | 1 | 3 | **93.9%** | 48 s |" in lines
    assert f"- `{s}x_a__mutmut_3 (survived)`" in lines and f"- `{s}x_a__mutmut_5 (no tests)`" in lines
    assert f"- `{s}x_gone__mutmut_1`" in lines  # stale only where this checkout produced the module's mutants
    assert not any("ferkit.labels.x_b" in line for line in lines)


def test_write_docs_replaces_only_the_table(mutation, tmp_path):
    text = mutation.report(write_docs=True)
    page = (tmp_path / "mutation.md").read_text()
    assert page == f"# Page\n\nbefore\n\n{BEGIN}\n{text}\n{END}\n\nafter\n"
    assert LABELS_ROW in page and mutation.report(write_docs=False) == text  # idempotent
