"""One row per run (lab/results/runs.csv) and a short index page (lab/results/README.md) from the records.

    python lab/tools/collect_results.py

Rows are read from the JSON records the experiment tools wrote (lab/tools/results_table.py), so the CSV and the
index never drift from the numbers; the per-experiment pages stay where their tools wrote them, the index lists
them in the order of lab/results/pages.yaml, and pages not produced yet are listed with the command that makes
them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "lab" / "results"
PAGES = RESULTS / "pages.yaml"  # the pages the index lists, in order, each with the command that produces it


def sections(path: Path = PAGES) -> list[tuple[str, str, str]]:
    """The pages the index lists, in order: (file, the question it answers, the command that produces it)."""
    return [(page["page"], page["title"], page["command"]) for page in yaml.safe_load(path.read_text())]


def main(argv: list[str] | None = None) -> int:
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results_table import collect_rows, index_markdown, write_csv

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=RESULTS, help="results folder (default lab/results)")
    results = p.parse_args(argv).dir
    rows = collect_rows(results)
    write_csv(rows, results / "runs.csv")
    pages = sections()
    (results / "README.md").write_text(index_markdown(rows, pages, results))
    missing = [name for name, _, _ in pages if not (results / name).is_file()]
    print(
        json.dumps(
            {"written": [str(results / "runs.csv"), str(results / "README.md")], "rows": len(rows), "missing": missing}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
