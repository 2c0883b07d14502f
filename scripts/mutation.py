"""Mutation testing of the pure-logic modules with mutmut, one module at a time (run by scripts/mutation.sh).

The modules and the quick-lane test files that guard each are listed in ``[tool.ferkit.mutation.modules]`` of
pyproject.toml; shared mutmut settings are in ``[tool.mutmut]``. For each module a scratch folder
``.mutation/<module>/`` gets a pyproject.toml naming only that module's sources and tests (so mutmut runs just
those tests), links to ``src/`` and ``tests/``, and mutmut runs there. Per-mutant results go to
``.mutation/<module>.json``; the report counts killed / survived / equivalent per module, where equivalent
mutants are the ones listed with a reason in ``scripts/mutation_equivalent.txt``.

    python scripts/mutation.py run [MODULE ...]     # all modules when none is named
    python scripts/mutation.py report [--write-docs]
    python scripts/mutation.py survivors MODULE     # the diff of each mutant not killed
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".mutation"
EQUIVALENT = REPO / "scripts" / "mutation_equivalent.txt"
DOCS = REPO / "docs" / "development" / "mutation.md"
BEGIN, END = "<!-- mutation report: begin -->", "<!-- mutation report: end -->"
# mutmut's status words; a timeout means the tests stopped the mutant (it hung), so it counts as killed
KILLED = {"killed", "timeout", "caught by type check"}


def settings() -> tuple[dict, dict[str, dict]]:
    """(shared [tool.mutmut] settings, module name -> {"source": [...], "tests": [...]})."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    modules = data["tool"]["ferkit"]["mutation"]["modules"]
    for name, entry in modules.items():
        missing = [p for p in (*entry["source"], *entry["tests"]) if not (REPO / p).is_file()]
        if missing:
            raise SystemExit(f"mutation module {name!r}: no such file {', '.join(missing)} (pyproject.toml)")
    return data["tool"]["mutmut"], modules


def _toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def prepare(name: str, entry: dict, shared: dict) -> Path:
    """A fresh scratch folder where mutmut sees only this module's sources and tests."""
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for link in ("src", "tests"):
        (folder / link).symlink_to(REPO / link)
    write_config(folder, entry, shared)
    return folder


def write_config(folder: Path, entry: dict, shared: dict) -> None:
    """The folder's pyproject.toml: the shared mutmut settings, this module's sources and tests."""
    lines = ["[tool.mutmut]"]
    for key, value in shared.items():
        lines.append(f"{key} = {json.dumps(value)}")
    lines.append(f"only_mutate = {_toml_list(entry['source'])}")
    lines.append(f"pytest_add_cli_args_test_selection = {_toml_list(entry['tests'])}")
    (folder / "pyproject.toml").write_text("\n".join(lines) + "\n")


def results(folder: Path) -> dict[str, str]:
    """mutant name -> status, from ``mutmut results --all true`` in the module's folder."""
    out = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and name.startswith("ferkit"):
            found[name] = status
    return found


def run(names: list[str], children: int, retest: bool = False) -> None:
    """Mutate and test each named module afresh; ``retest``: rerun only the last run's mutants not killed, in
    the same folder (mutmut finds the new tests), and keep the other results."""
    shared, modules = settings()
    unknown = [n for n in names if n not in modules]
    if unknown:
        raise SystemExit(f"unknown mutation module(s) {', '.join(unknown)}; choose from {', '.join(modules)}")
    # One torch/OpenMP thread (FERKIT_TEST_THREADS, read by tests/conftest.py): mutmut forks each mutant's test
    # run from a process that has used torch's thread pool, and GNU OpenMP deadlocks in a forked child on its
    # first parallel region (the mutant then "times out" and would count as killed). One thread per run is also
    # the fair share of a shared machine.
    threads = {"FERKIT_TEST_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": "", **threads}
    for name in names or list(modules):
        last = WORK / f"{name}.json"
        chosen = []
        if retest and last.is_file() and (WORK / name).is_dir():
            folder = WORK / name
            write_config(folder, modules[name], shared)  # the module's test list may have grown
            chosen = [m for m, s in json.loads(last.read_text())["mutants"].items() if s not in KILLED]
            if not chosen:
                continue
        else:
            folder = prepare(name, modules[name], shared)
        start = time.monotonic()
        print(
            f"== {name}: {', '.join(modules[name]['source'])}" + (f" ({len(chosen)} again)" if chosen else ""),
            flush=True,
        )
        proc = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(children), *chosen],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
            raise SystemExit(f"mutmut failed on module {name!r} (exit {proc.returncode})")
        found = results(folder)
        record = {"seconds": round(seconds, 1), "mutants": found}
        if chosen:  # the others keep the full run's outcome (more tests never revive a killed mutant)
            previous = json.loads(last.read_text())
            again = {m: found[m] for m in chosen if m in found}
            record = {"seconds": previous["seconds"], "mutants": {**previous["mutants"], **again}}
            found = record["mutants"]
        last.write_text(json.dumps(record, indent=1))
        row = count(found, equivalents())
        print(
            f"   {row['total']} mutants, {row['killed']} killed, {row['survived']} survived, "
            f"{row['equivalent']} equivalent, {row['no tests']} without tests in {seconds:.0f} s",
            flush=True,
        )


def equivalents() -> dict[str, str]:
    """mutant name -> why it is equivalent (scripts/mutation_equivalent.txt: 'name  reason' per line)."""
    found = {}
    if EQUIVALENT.is_file():
        for line in EQUIVALENT.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.strip().partition(" ")
                found[name] = reason.strip()
    return found


def count(found: dict[str, str], equivalent: dict[str, str]) -> dict[str, int]:
    row = {"total": len(found), "killed": 0, "survived": 0, "equivalent": 0, "no tests": 0}
    for name, status in found.items():
        if status in KILLED:
            row["killed"] += 1
        elif name in equivalent:
            row["equivalent"] += 1
        elif status == "no tests":
            row["no tests"] += 1
        else:
            row["survived"] += 1
    return row


def documented_rows() -> dict[str, list[str]]:
    """module -> the cells of its row in the docs page's table (the last written report)."""
    page = DOCS.read_text() if DOCS.is_file() else ""
    _, _, rest = page.partition(BEGIN)
    table, _, _ = rest.partition(END)
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[2].isdigit():
            rows[cells[0]] = cells
    return rows


def _mutant_prefixes(entry: dict) -> tuple[str, ...]:
    """The mutant-name prefixes of a module's sources: src/ferkit/io_utils.py -> 'ferkit.io_utils.'."""
    return tuple(str(Path(s).relative_to("src").with_suffix("")).replace("/", ".") + "." for s in entry["source"])


def report(write_docs: bool) -> str:
    """The table of the last runs. A module with no run in this checkout's ``.mutation/`` keeps the row of the
    docs page (measured in an earlier run, on another machine or checkout); running it replaces the row."""
    _, modules = settings()
    equivalent = equivalents()
    documented = documented_rows()
    header = (
        "| module | sources | mutants | killed | survived | no tests | equivalent | killed of non-equivalent "
        "| run time |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    total = dict.fromkeys(("total", "killed", "survived", "equivalent", "no tests"), 0)
    seconds = 0.0
    survivors, stale, run_prefixes = [], set(equivalent), []
    for name, entry in modules.items():
        path = WORK / f"{name}.json"
        if not path.is_file():
            cells = documented.get(name)
            if cells is None:
                lines.append(f"| {name} | | not run | | | | | | |")
                stale -= {n for n in stale if n.startswith(_mutant_prefixes(entry))}
                continue
            kept = dict(zip(("total", "killed", "survived", "no tests", "equivalent"), map(int, cells[2:7])))
            for key in total:
                total[key] += kept[key]
            seconds += float(cells[8].split()[0])
            stale -= {n for n in stale if n.startswith(_mutant_prefixes(entry))}
            lines.append("| " + " | ".join(cells) + " |")
            continue
        data = json.loads(path.read_text())
        found = data["mutants"]
        run_prefixes += _mutant_prefixes(entry)
        stale -= set(found)
        row = count(found, equivalent)
        for key in total:
            total[key] += row[key]
        seconds += data["seconds"]
        sources = ", ".join(f"`{Path(s).relative_to('src/ferkit')}`" for s in entry["source"])
        lines.append(
            f"| {name} | {sources} | {row['total']} | {row['killed']} | {row['survived']} | "
            f"{row['no tests']} | {row['equivalent']} | {score(row)} | {data['seconds']:.0f} s |"
        )
        survivors += [f"{n} ({s})" for n, s in sorted(found.items()) if s not in KILLED and n not in equivalent]
    lines.append(
        f"| **all** | | {total['total']} | {total['killed']} | {total['survived']} | {total['no tests']} | "
        f"{total['equivalent']} | **{score(total)}** | {seconds:.0f} s |"
    )
    text = "\n".join(lines)
    if survivors:
        text += "\n\nNot killed and not listed as equivalent:\n\n" + "\n".join(f"- `{s}`" for s in survivors)
    if stale:
        text += (
            "\n\nListed as equivalent but no longer produced (the function changed; review the list):\n\n"
            + "\n".join(f"- `{n}`" for n in sorted(stale))
        )
    if write_docs:
        page = DOCS.read_text()
        head, _, rest = page.partition(BEGIN)
        _, _, tail = rest.partition(END)
        DOCS.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    return text


def survivors(name: str) -> None:
    path = WORK / f"{name}.json"
    if not path.is_file():
        raise SystemExit(f"module {name!r} has not been run (bash scripts/mutation.sh {name})")
    equivalent = equivalents()
    for mutant, status in sorted(json.loads(path.read_text())["mutants"].items()):
        if status in KILLED or mutant in equivalent:
            continue
        diff = subprocess.run(
            [sys.executable, "-m", "mutmut", "show", mutant],
            cwd=WORK / name,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        changed = [line for line in diff.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
        print(f"{mutant} ({status})", *changed, sep="\n    ")


def score(row: dict[str, int]) -> str:
    considered = row["total"] - row["equivalent"]
    return f"{100 * row['killed'] / considered:.1f}%" if considered else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="run mutmut on the named modules (default: all), then print the report")
    p.add_argument("modules", nargs="*")
    p.add_argument("--max-children", type=int, default=1, help="parallel mutant runs (default 1)")
    p.add_argument("--retest", action="store_true", help="rerun only the mutants the last run did not kill")
    p = sub.add_parser("report", help="print the report of the last runs")
    p.add_argument("--write-docs", action="store_true", help=f"also write it into {DOCS.relative_to(REPO)}")
    p = sub.add_parser("survivors", help="show the change each surviving mutant of MODULE makes")
    p.add_argument("module")
    args = parser.parse_args(argv)
    if args.command == "survivors":
        survivors(args.module)
    elif args.command == "run":
        run(args.modules, args.max_children, args.retest)
        print(report(write_docs=False))
    else:
        print(report(args.write_docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
