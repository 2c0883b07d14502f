"""Writers for tiny FER2013 / FERPlus files in the exact published formats (used by the FER tests)."""

from __future__ import annotations

import gzip
from pathlib import Path

FERPLUS_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"


def pixel_row(value: int, n: int = 48 * 48) -> str:
    return " ".join([str(value)] * n)


def write_fer_csv(path: Path, rows: list[tuple[int, int, str]], header: str = "emotion,pixels,Usage") -> Path:
    """rows: (emotion, constant pixel value, usage). Gzip-compressed if the name ends with .gz."""
    text = header + "\n" + "".join(f"{e},{pixel_row(v)},{u}\n" for e, v, u in rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def write_ferplus_csv(path: Path, rows: list[tuple[str, list[int]]]) -> Path:
    """rows: (usage, 10 votes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [FERPLUS_HEADER] + [f"{u},fer{i:07d}.png," + ",".join(map(str, v)) for i, (u, v) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path
