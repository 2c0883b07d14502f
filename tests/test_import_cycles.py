"""No import cycle among the modules of ``src/ferkit``, counting every import statement wherever it stands:
module level, inside functions (lazy imports) and under ``if TYPE_CHECKING:``. A cycle hidden behind a lazy or
type-only import is still two modules that each need the other; it makes the layers of STYLE.md unreadable
and breaks as soon as someone moves the import up.

How edges are counted:
- ``import a.b.c`` and ``from a.b.c import name`` point at module ``a.b.c``; ``from a.b import c`` points at
  submodule ``a.b.c`` when there is one, else at ``a.b`` (the package's ``__init__``, which runs to give
  ``name``).
- Package ``__init__`` re-exports count like any other import: ``ferkit/faces/__init__.py`` importing
  ``ferkit.faces.base`` is an edge, so a submodule that imports its own package's ``__init__`` (``from
  ferkit.faces import create_detector`` inside ``ferkit/faces/base.py``) closes a cycle.
- The implicit import of parent packages (importing ``a.b.c`` first runs ``a/__init__`` and ``a/b/__init__``) is
  not an edge: it is how Python imports any submodule, and counting it would make every package whose
  ``__init__`` re-exports one of its modules a "cycle" that cannot fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_names(src: Path = SRC) -> dict[str, Path]:
    """Dotted module name -> file, for every module and package of ferkit."""
    names = {}
    for path in sorted((src / "ferkit").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The ferkit modules that ``name`` (at ``path``) imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import ferkit.x.y` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph(src: Path = SRC) -> dict[str, set[str]]:
    modules = module_names(src)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_finds_lazy_and_type_only_cycles(tmp_path):
    pkg = tmp_path / "ferkit" / "training"
    pkg.mkdir(parents=True)
    (tmp_path / "ferkit" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "trainer.py").write_text("from ferkit.training import loop\n")
    (pkg / "loop.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ferkit.training.trainer import Trainer\n"
    )
    (pkg / "checkpoints.py").write_text("def resume():\n    from .trainer import TrainState\n")
    (pkg / "runs.py").write_text("import ferkit.training.trainer\n")
    graph = import_graph(tmp_path)
    assert graph["ferkit.training.checkpoints"] == {"ferkit.training.trainer"}  # relative and lazy
    assert cycles(graph) == [["ferkit.training.loop", "ferkit.training.trainer"]]


def test_no_import_cycle_in_ferkit():
    graph = import_graph()
    assert len(graph) > 100 and graph["ferkit.training.trainer"]  # the whole package was read
    found = cycles(graph)
    assert not found, "import cycles (each a set of modules that import each other):\n" + "\n".join(
        " <-> ".join(c) for c in found
    )
