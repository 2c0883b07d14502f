"""One row per run: the result records of lab/results/ as a CSV in the shape of timm's results tables.

Pure functions, no side effects: ``collect_rows(results_dir)`` reads every JSON record the experiment tools
wrote (``run_experiments.py`` / ``ensemble_experiment.py`` tables, ``ferkit evaluate --json`` files, the distilled
candidates of ``robust_report.py``, the zoo's archived runs, the wider teacher's evaluations) and returns one dict
per scored model; ``write_csv`` writes them with the columns of ``COLUMNS``; ``index_markdown`` makes the short index
page from the rows and the page list of ``collect_results.py``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

COLUMNS = (
    "experiment",
    "row",
    "model",
    "dataset",
    "split",
    "head",
    "top1",
    "top1_err",
    "macro_f1",
    "param_count",
    "epochs",
    "seed",
    "train_minutes",
    "config",
    "source",
)


def _row(experiment: str, row: str, accuracy, **extra) -> dict:
    top1 = round(100 * float(accuracy), 2)
    out = dict.fromkeys(COLUMNS, "")
    out.update(experiment=experiment, row=row, top1=top1, top1_err=round(100 - top1, 2), split="PublicTest")
    for key, value in extra.items():
        if value is None:
            continue
        if key == "macro_f1":
            value = round(float(value), 4)
        elif key == "train_minutes":
            value = round(float(value), 1)
        out[key] = value
    return out


def _table_rows(stem: str, data: dict, source: str) -> list[dict]:
    """Rows of a run_experiments / ensemble / classical-head / autoencoder / face-subset table."""
    rows = []
    for r in data["rows"]:
        if "all" in r and "accuracy" not in r:  # face subsets: the whole split is the run's score
            r = {**r, **r["all"]}
        if "accuracy" not in r:
            continue
        config, _, variant = (r.get("config") or "").partition(" [")  # "recipe.yaml [sweep overrides]"
        label = Path(config).stem + (f" [{variant}" if variant else "") if config else None
        label = label or r.get("name") or r.get("head") or r.get("model", "")
        rows.append(
            _row(
                stem,
                str(label),
                r["accuracy"],
                model=r.get("model"),
                dataset=r.get("dataset"),
                head=r.get("head") if r.get("config") else None,
                macro_f1=r.get("macro_f1"),
                param_count=r.get("params"),
                epochs=r.get("epochs"),
                seed=r.get("seed"),
                train_minutes=r.get("train_minutes", r.get("cpu_minutes")),
                config=config or None,
                source=source,
            )
        )
    return rows


def _candidate_rows(stem: str, data: dict, source: str) -> list[dict]:
    """Clean PublicTest accuracy of each distilled candidate and head (robust_report.py's JSON)."""
    clean = data.get("robustness", {}).get("rows", {}).get("clean", {})
    return [
        _row(stem, f"{candidate} ({head})", acc, head=head, dataset=head, source=source)
        for head, by_candidate in clean.items()
        for candidate, acc in by_candidate.items()
    ]


def _scheme_rows(stem: str, data: dict, source: str) -> list[dict]:
    """One row per (scheme, seed) of a ``{"results": {scheme: {seed: evaluate --json}}}`` record."""
    return [
        _row(
            stem,
            f"{scheme} seed {seed}",
            ev["accuracy"],
            dataset=ev.get("dataset", "ferplus"),
            seed=int(seed),
            macro_f1=ev.get("macro_f1"),
            source=source,
        )
        for scheme, by_seed in data["results"].items()
        for seed, ev in by_seed.items()
        if isinstance(ev, dict) and "accuracy" in ev
    ]


def _evaluation_row(stem: str, data: dict, source: str, experiment: str | None = None) -> dict:
    """One ``ferkit evaluate --json`` file."""
    return _row(
        experiment or stem,
        stem,
        data["accuracy"],
        dataset=data.get("dataset"),
        split=data.get("split", "PublicTest" if not stem.startswith("cross_") else "other dataset"),
        macro_f1=data.get("macro_f1"),
        source=source,
    )


def _zoo_rows(archive: Path, source: str) -> list[dict]:
    rows = []
    for run in sorted(p for p in archive.iterdir() if (p / "zoo_run.json").is_file()):
        meta = json.loads((run / "zoo_run.json").read_text())
        cost = json.loads((run / "cost.json").read_text()) if (run / "cost.json").is_file() else {}
        for scores in sorted(run.glob("eval_*_none.json")):
            head = scores.stem.removeprefix("eval_").removesuffix("_none")
            ev = json.loads(scores.read_text())
            rows.append(
                _row(
                    "zoo",
                    meta["row"] + ("" if head == "main" else f" ({head})"),
                    ev["accuracy"],
                    dataset=ev.get("dataset"),
                    head=head,
                    macro_f1=ev.get("macro_f1"),
                    param_count=cost.get(head, cost.get("main", {})).get("params"),
                    seed=meta.get("seed"),
                    train_minutes=(meta.get("wall_seconds") or 0) / 60 or None,
                    config=meta.get("config"),
                    source=source,
                )
            )
    return rows


def collect_rows(results: Path) -> list[dict]:
    """Every scored run recorded under ``results``, in a stable order (file name, then the record's order)."""
    rows = []
    for path in sorted(results.glob("*.json")):
        data = json.loads(path.read_text())
        page = path.with_suffix(".md").name if path.with_suffix(".md").is_file() else path.name
        if isinstance(data, dict) and isinstance(data.get("rows"), list):
            rows += _table_rows(path.stem, data, page)
        elif isinstance(data, dict) and isinstance(data.get("results"), dict) and "per_seed" in data:
            rows += _scheme_rows(path.stem, data, page)
        elif isinstance(data, dict) and "rule" in data:
            rows += _candidate_rows(path.stem, data, page)
        elif isinstance(data, dict) and "accuracy" in data:
            experiment = (
                "robustness"
                if path.stem.startswith("robustness_")
                else "cross_dataset"
                if path.stem.startswith("cross_")
                else path.stem
            )
            rows.append(_evaluation_row(path.stem, data, f"{experiment}.md", experiment))
    if (results / "zoo_runs").is_dir():
        rows += _zoo_rows(results / "zoo_runs", "zoo.md")
    teacher = results / "teacher_ferresnet_l"
    for path in sorted(teacher.glob("eval_*.json")) if teacher.is_dir() else []:
        rows.append(
            _evaluation_row(
                path.stem.removeprefix("eval_"),
                json.loads(path.read_text()),
                "teacher_ferresnet_l.md",
                "teacher_ferresnet_l",
            )
        )
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def index_markdown(rows: list[dict], sections: list[tuple[str, str, str]], results: Path) -> str:
    """The index page: one line per result page (its runs in the CSV and its best PublicTest row)."""
    by_page: dict[str, list[dict]] = {}
    for r in rows:
        by_page.setdefault(r["source"], []).append(r)
    lines = [
        "# Results",
        "",
        "Every number was measured on a 2-core CPU machine. [`runs.csv`](runs.csv) holds one row per scored run "
        f"({len(rows)} rows: experiment, row, model, dataset, split, head, top-1 %, error %, macro-F1, parameters, "
        "epochs, seed, training minutes, config, source page); `python lab/tools/collect_results.py` rebuilds it and "
        "this page from the JSON records beside it. Reduced-budget rows (`lab/tools/budget_results.sh`: 10,000 "
        "stratified Training images, 5 epochs, one thread) compare methods at equal budget and sit far below converged "
        "models. PublicTest is the development split; read differences against their intervals.",
        "",
        "| results page | runs | best PublicTest row | top-1 % | macro-F1 |",
        "|---|---:|---|---:|---:|",
    ]
    missing = []
    for name, title, how in sections:
        if not (results / name).is_file():
            missing.append(f"- {title}: not produced yet (`{how}`)")
            continue
        page_rows = [r for r in by_page.get(name, []) if r["split"] == "PublicTest"]
        best = max(page_rows, key=lambda r: r["top1"], default=None)
        cells = (
            f"`{best['row']}` | {best['top1']:.2f} | {best['macro_f1'] if best['macro_f1'] != '' else ''}"
            if best
            else " | | "
        )
        lines.append(f"| [{title}]({name}) | {len(by_page.get(name, []))} | {cells} |")
    if missing:
        lines += ["", "Pages not produced yet:", "", *missing]
    return "\n".join(lines) + "\n"
