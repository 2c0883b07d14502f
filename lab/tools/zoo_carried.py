"""Rows, notes and sections carried from the earlier zoo table: the last page generated from run folders that
were lost before archiving existed (lab/results/zoo_earlier.md). What neither a run folder nor an archived record
can produce is carried unchanged and marked with a dagger, instead of being replaced by "no finished run".
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_EARLIER = ROOT / "lab" / "results" / "zoo_earlier.md"  # the last table generated from now-lost run folders
EARLIER = DEFAULT_EARLIER  # what earlier_records() reads; zoo_table.main() sets it from --earlier
CARRIED = "\u2020"  # marks what is carried from EARLIER, not recomputed


def earlier_records() -> dict:
    """The earlier table's row lines (by row label, seed count stripped), run notes (by row name) and ``###``
    sections (by title); empty when there is no earlier table."""
    records = {"rows": {}, "notes": {}, "sections": {}}
    if not Path(EARLIER).is_file():
        return records
    section = None
    for line in Path(EARLIER).read_text().splitlines():
        if line.startswith("## "):
            section = None
        elif line.startswith("### "):
            section = records["sections"].setdefault(line[4:].strip(), [])
        elif section is not None:
            section.append(line)
        elif line.startswith("| ") and not line.startswith("| row |") and "no finished run" not in line:
            label = re.sub(r" \(\d+/\d+ seeds\)$", "", line.split("|")[1].strip())  # row_lines' label
            records["rows"][label] = line
        elif line.startswith("- **") and "**:" in line:
            records["notes"][line[4 : line.index("**:")]] = line
    for lines in records["sections"].values():
        while lines and not lines[-1].strip():
            lines.pop()
    return records


def earlier_name() -> str:
    """The earlier table as the page cites it: repository-relative when it is in the repository."""
    path = Path(EARLIER).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def carried_row(label: str, records: dict) -> str | None:
    """The earlier table's line for ``label``, its first cell marked as carried; None when it has none."""
    line = records["rows"].get(label)
    if line is None:
        return None
    cells = line.split("|")
    cells[1] = f"{cells[1].rstrip()} {CARRIED} "
    return "|".join(cells)


def carried_section(title: str, earlier: dict | None) -> list[str] | None:
    """The earlier table's ``### title`` section, said to be carried; None when it has none."""
    body = (earlier or {}).get("sections", {}).get(title)
    if not body:
        return None
    return [
        f"### {title}",
        "",
        f"{CARRIED} Carried unchanged from the earlier table (`{earlier_name()}`): "
        "the records of these runs were lost before archiving, so this section cannot be recomputed.",
        *body,
        "",
    ]
