"""Fenced code blocks of the README and the documentation: where they are, what language, whether they run.

A block runs as shown unless its first line is ``# not runnable: <reason>`` (the reason is required)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash"}
MARKER = re.compile(r"^#\s*not runnable:\s*(.*)$")
OPENER = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
# Folders under docs/ that the site does not serve (mkdocs.yml: exclude_docs); kept out while they exist.
EXCLUDED = ("docs/_hooks/",)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def not_runnable_reason(self) -> str | None:
        """The reason after ``# not runnable:`` on the first line ('' when it is missing), else None."""
        first = self.code.split("\n", 1)[0].strip()
        match = MARKER.match(first)
        return match.group(1).strip() if match else None

    @property
    def runner(self) -> str | None:
        return RUNNABLE.get(self.lang.lower())


def doc_files() -> list[Path]:
    """README.md, every page under docs/ that the site serves, the model cards and the lab's result pages."""
    files = [ROOT / "README.md"]
    files += [
        p for p in sorted((ROOT / "docs").rglob("*.md")) if not p.relative_to(ROOT).as_posix().startswith(EXCLUDED)
    ]
    files += sorted((ROOT / "src" / "ferkit" / "pretrained").glob("*.md"))
    if (ROOT / "lab" / "results").is_dir():
        files += sorted((ROOT / "lab" / "results").rglob("*.md"))
    return files


def blocks_of(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file (indented fences in lists too), its content dedented."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found, i = [], 0
    while i < len(lines):
        match = OPENER.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = len(match["indent"]), match["fence"], match["lang"]
        body, j = [], i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence[0] * len(fence)) and not lines[j].strip().strip(fence[0])
        ):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        found.append(Block(path, i + 1, lang, "\n".join(body)))
        i = j + 1
    return found


def workspace_from(assets: Path, folder: Path) -> dict:
    """Fill ``folder`` with links to the doc assets; return the environment blocks run in."""
    for item in assets.iterdir():
        if item.name != ".bin":
            (folder / item.name).symlink_to(item.resolve() if item.is_symlink() else item)
    env = dict(os.environ)
    env["PATH"] = f"{(assets / '.bin').resolve()}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    return env
