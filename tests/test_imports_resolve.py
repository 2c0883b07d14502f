"""Every ``from ferkit... import name`` in the repository's Python files names something that exists.

Benchmarks, lab drivers and tools are not all run by the suite, so a name moved inside ``src/ferkit`` can leave
them broken with nothing failing (bench_batch.py once imported ``usable_cores`` from a module it had left).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("benchmarks", "lab", "tools", "scripts", "docs", "src", "tests", "examples")


def _ferkit_imports():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("ferkit"):
                    yield path.relative_to(ROOT), node


def _missing(module: str, name: str) -> bool:
    if hasattr(importlib.import_module(module), name):
        return False
    try:
        importlib.import_module(f"{module}.{name}")
    except ImportError:
        return True
    return False


def test_every_ferkit_import_resolves():
    broken = [
        f"{path}:{node.lineno}: {node.module}.{alias.name}"
        for path, node in _ferkit_imports()
        for alias in node.names
        if alias.name != "*" and _missing(node.module, alias.name)
    ]
    assert not broken, "names imported from ferkit that do not exist:\n" + "\n".join(broken)


def test_the_check_sees_a_missing_name():
    assert _missing("ferkit.batch.local_pool", "no_such_name_here")
    assert not _missing("ferkit.batch.local_pool", "usable_cores")
