"""Every code block of the README and the docs runs as shown, or says on its first line why it cannot
(``# not runnable: <reason>``). The blocks of one page run in order in one fresh folder (a later block may use
what an earlier one wrote), with the files the examples name (crop.png, crops/, clip.mp4, examples/, configs/)
and `ferkit` running this checkout."""

from __future__ import annotations

import subprocess
import sys

import pytest
from doc_blocks import ROOT, blocks_of, doc_files, workspace_from

BLOCK_TIMEOUT_S = 300
# The README's first block is the set-up entry points themselves: they create .venv and install packages, so no
# test runs them; CI runs scripts/test.sh through .ci/run (checked below).
SETUP_COMMANDS = ("bash scripts/demo.sh", "bash scripts/test.sh")


def _is_setup_block(block) -> bool:
    """The README's first block, when it holds only the set-up entry points."""
    if block.path != ROOT / "README.md" or block.line != blocks_of(block.path)[0].line:
        return False
    lines = [line.strip() for line in block.code.splitlines() if line.strip()]
    return bool(lines) and all(line.startswith(SETUP_COMMANDS) for line in lines)


def _runnable(path):
    return [b for b in blocks_of(path) if b.not_runnable_reason is None and b.runner and not _is_setup_block(b)]


PAGES = [p for p in doc_files() if _runnable(p)]


def test_docs_have_code_blocks_to_run():
    assert len(PAGES) >= 8, [str(p.relative_to(ROOT)) for p in PAGES]


def test_every_block_runs_or_says_why():
    problems = []
    for path in doc_files():
        for block in blocks_of(path):
            reason = block.not_runnable_reason
            if reason == "":
                problems.append(f"{block.where}: '# not runnable:' without a reason")
            elif reason is None and block.runner is None and not _is_setup_block(block):
                problems.append(
                    f"{block.where}: a {block.lang or 'plain'} block that is neither python nor bash "
                    "and has no '# not runnable: <reason>' first line"
                )
    assert not problems, "\n".join(problems)


def test_readme_setup_block_is_the_ci_entry_point():
    first = blocks_of(ROOT / "README.md")[0]
    assert _is_setup_block(first)
    lines = [line.split("#")[0].strip() for line in first.code.splitlines()]
    assert lines[:2] == list(SETUP_COMMANDS)
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    assert (ROOT / "scripts" / "demo.sh").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_blocks_run(page, doc_assets, tmp_path):
    env = workspace_from(doc_assets, tmp_path)
    for i, block in enumerate(_runnable(page)):
        if block.runner == "python":
            script = tmp_path / f"block_{i}.py"
            script.write_text(block.code + "\n")
            cmd = [sys.executable, str(script)]
        else:
            script = tmp_path / f"block_{i}.sh"
            script.write_text("set -e\n" + block.code + "\n")
            cmd = ["bash", str(script)]
        try:
            proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{block.where}: still running after {BLOCK_TIMEOUT_S} s")
        assert proc.returncode == 0, (
            f"{block.where} exited with {proc.returncode}\n--- block\n{block.code}\n"
            f"--- stdout\n{proc.stdout[-2000:]}\n--- stderr\n{proc.stderr[-3000:]}"
        )
