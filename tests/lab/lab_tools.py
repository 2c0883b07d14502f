"""Loading the scripts of lab/tools/ in tests: they are scripts that import their neighbours, not a package."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "lab" / "tools"


def load_tool(name: str) -> ModuleType:
    """A fresh copy of ``lab/tools/<name>.py``, registered in ``sys.modules`` under its name; the tools folder is
    on ``sys.path`` for its imports of its neighbours (as when the script runs)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_zoo_tool(name: str) -> ModuleType:
    """``load_tool`` with the zoo table's lookups pointed at nothing: a test sees only the runs it makes, never the
    repository's archived records (``ARCHIVE``) nor rows carried from its earlier table (``EARLIER``)."""
    module = load_tool(name)
    for owner in (module, importlib.import_module("zoo_records"), importlib.import_module("zoo_carried")):
        if hasattr(owner, "ARCHIVE"):
            owner.ARCHIVE = ROOT / "tests" / "no-such-archive"
        if hasattr(owner, "EARLIER"):
            owner.EARLIER = ROOT / "tests" / "no-such-earlier-table.md"
    return module
