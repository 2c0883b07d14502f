"""Generate lab/results/zoo.md from the zoo's run folders (no hand-typed numbers).

    python lab/tools/zoo_table.py --runs-root runs/zoo [--output lab/results/zoo.md]

Reads lab/configs/zoo/zoo.yaml for the rows and their published references, and from each run folder
``<row>_s<seed>/``: zoo_run.json (command, hardware, wall time, ONNX ms/face), eval_<head>_{none,flip}.json
(PublicTest accuracy, macro-F1, per-class recall, ECE) written by lab/tools/zoo_run.py, metrics.csv (selected and
last epoch) and best_fp16.pt (parameters, MMACs). Rows with several seeds show mean +- std and the recall of the
rarest PublicTest class. A row without a finished run says so instead of showing a number. The manifest's
``comparisons`` get a section of their own: mean +- std per row over its finished seeds and Welch's t-test
verdicts ("higher", "lower" or "cannot rank") for accuracy, macro-F1 and rarest-class recall. The manifest's
``ensembles`` average the members' saved PublicTest probabilities (scores_main_<tta>.npz of lab/tools/zoo_score.py;
a member written ``row:head`` is that row's auxiliary head, scores_<head>_<tta>.npz).
A row, note or section that neither a run folder nor an archived record can produce is carried unchanged from
the earlier table (``--earlier``, lab/results/zoo_earlier.md: the last page generated from run folders that
were lost before archiving existed), marked with a dagger, instead of being replaced by "no finished run".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml
import zoo_carried
import zoo_records
from zoo_carried import CARRIED, carried_row, earlier_name, earlier_records
from zoo_compare import comparison_lines
from zoo_ensembles import ensemble_lines
from zoo_records import epoch_text, num, pct, run_folder, run_numbers

ROOT = Path(__file__).resolve().parents[2]


def copy_curves(row: dict, runs_root: Path, curves_dir: Path | None) -> list[str]:
    """Copy each scored run's training curves (curves.png) to ``curves_dir``; Markdown links to the copies,
    relative to the folder that holds ``curves_dir`` (a run archived inside that folder is linked where it is)."""
    if curves_dir is None:
        return []
    links = []
    for seed in row.get("seeds", [0]):
        run = run_folder(runs_root, f"{row['name']}_s{seed}")
        if (run / "curves.png").is_file() and (run / "zoo_run.json").is_file():
            page_dir = curves_dir.parent
            archived = run.parent.resolve() == Path(zoo_records.ARCHIVE).resolve()
            if archived and run.resolve().is_relative_to(page_dir.resolve()):  # an archived record beside the page:
                links.append(f"[seed {seed}]({(run / 'curves.png').resolve().relative_to(page_dir.resolve())})")
                continue  # linked, a copy would store it twice
            curves_dir.mkdir(parents=True, exist_ok=True)
            target = curves_dir / f"{run.name}.png"
            target.write_bytes((run / "curves.png").read_bytes())
            links.append(f"[seed {seed}]({curves_dir.name}/{target.name})")
    return links


def row_lines(
    row: dict, runs_root: Path, curves_dir: Path | None = None, earlier: dict | None = None
) -> tuple[list[str], list[str]]:
    """Table lines for a zoo row (main head, then every auxiliary head) and its notes; a head with no run folder
    and no archived record keeps its line (and the row its note) from the ``earlier`` table, marked."""
    earlier = earlier or {"rows": {}, "notes": {}}
    lines, notes = [], []
    heads = [("main", row["eval"])] + list((row["eval"].get("aux") or {}).items())
    seeds = row.get("seeds", [0])
    for head, spec in heads:
        ref = (row.get("reference") if head == "main" else spec.get("reference")) or {}
        ref_text = f"{ref['value']:.2f}%" if ref.get("value") is not None else "n/a"
        runs = [run_numbers(run_folder(runs_root, f"{row['name']}_s{s}"), head) for s in seeds]
        done = [r for r in runs if r]
        label = row["name"] + ("" if head == "main" else f" ({head} head)")
        if not done:
            carried = carried_row(label, earlier)
            lines.append(carried or f"| {label} | {spec['dataset']} | no finished run | | | | | | | | | {ref_text} |")
            if carried and head == "main" and row["name"] in earlier["notes"]:
                note = earlier["notes"][row["name"]]
                notes.append(note.replace(f"**{row['name']}**:", f"**{row['name']}** {CARRIED}:", 1))
            continue
        seeds_note = f" ({len(done)}/{len(seeds)} seeds)" if len(seeds) > 1 else ""
        lines.append(
            f"| {label}{seeds_note} | {spec['dataset']} | {pct([r['acc'] for r in done])} | "
            f"{pct([r['acc_flip'] for r in done])} | {num([r['macro_f1'] for r in done], '.3f')} | "
            f"{pct([r['rarest_recall'] for r in done])} ({done[0]['rarest']}) | "
            f"{num([r.get('params', 0) / 1e6 if r.get('params') else None for r in done], '.3f')} | "
            f"{num([r.get('mmacs') for r in done], '.1f')} | {num([r['onnx_ms'] for r in done], '.2f')} | "
            f"{'; '.join(epoch_text(r) for r in done)} | "
            f"{pct([r.get('last_val_acc') for r in done])} | {ref_text} |"
        )
        if head == "main":
            r0 = done[0]
            slices = max(r["slices"] for r in done)
            in_slices = f" (in {slices} resumed slices; the command is the last one)" if slices > 1 else ""
            curves = copy_curves(row, runs_root, curves_dir)
            notes.append(
                f"- **{row['name']}**: {r0['hardware']}, {num([r['wall_min'] for r in done], '.1f')} min "
                f"wall per run{in_slices}; `{r0['command']}`. Reference: {ref.get('metric', '')}; "
                f"{ref.get('source', '')}." + (f" Training curves: {', '.join(curves)}." if curves else "")
            )
    return lines, notes


def render(manifest: Path, runs_root: Path, curves_dir: Path | None = None) -> str:
    """The page; with ``curves_dir``, each scored run's curves.png is copied there and linked."""
    data = yaml.safe_load(manifest.read_text())
    rows = data["rows"]
    earlier = earlier_records()
    table, notes = [], []
    for row in rows:
        t, n = row_lines(row, runs_root, curves_dir, earlier)
        table += t
        notes += n
    by_name = {r["name"]: r for r in rows}
    compared = [
        line for spec in data.get("comparisons") or [] for line in comparison_lines(spec, runs_root, by_name, earlier)
    ]
    ensembled = [
        line for spec in data.get("ensembles") or [] for line in ensemble_lines(spec, runs_root, by_name, earlier)
    ]
    return "\n".join(
        [
            "# Model zoo: reproductions of the seed systems and papers",
            "",
            f"Generated by `python lab/tools/zoo_table.py --runs-root {runs_root}` from the run folders of "
            "`lab/tools/zoo_run.py` (configs in `lab/configs/zoo/`, rows and references in `lab/configs/zoo/zoo.yaml`), or, where a "
            "run folder is gone, from its record in `lab/results/zoo_runs/` (`lab/tools/zoo_archive.py`). "
            "Accuracy is on FER2013 PublicTest (FERPlus: majority-vote protocol); PrivateTest is withheld. "
            '"selected/last epoch" is the epoch whose weights are scored (best PublicTest accuracy during training) '
            'and the last epoch run ("of N, partial": the run stopped at its time budget before its N epochs and '
            'continues with `--resume`; "of N, early stop": the run finished by its recipe\'s early-stopping '
            'patience); "last-epoch acc" is the trainer\'s PublicTest accuracy at that last epoch. '
            "ONNX ms/face: ONNX Runtime, one thread, batch 1, on the machine that ran the row. The reference is what "
            "the cited work reports on its own protocol, printed beside ours, not re-measured."
            + (
                f" {CARRIED}: a row, note or section carried unchanged from the earlier table "
                f"(`{earlier_name()}`, the last page generated from run folders that a fresh checkout lost "
                "before `lab/tools/zoo_archive.py` existed); its numbers were measured then and cannot be recomputed now."
                if CARRIED in "\n".join(table + notes + compared + ensembled)
                else ""
            ),
            "",
            "| row | data | PublicTest acc % | flip TTA % | macro-F1 | rarest-class recall % | params (M) | MMACs | "
            "ONNX ms/face | selected/last epoch | last-epoch acc % | published |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
            *table,
            "",
            *(["## Comparisons", "", *compared] if compared else []),
            *(["## Ensembles of zoo rows", "", *ensembled] if ensembled else []),
            "## Runs and sources",
            "",
            *notes,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", default=str(ROOT / "lab" / "configs" / "zoo" / "zoo.yaml"))
    ap.add_argument("--runs-root", default="runs/zoo")
    ap.add_argument("--output", default=str(ROOT / "lab" / "results" / "zoo.md"))
    ap.add_argument(
        "--archive",
        default=str(zoo_records.DEFAULT_ARCHIVE),
        help="archived run records (lab/tools/zoo_archive.py), read for runs whose folder is missing under --runs-root",
    )
    ap.add_argument(
        "--earlier",
        default=str(zoo_carried.DEFAULT_EARLIER),
        help="a table generated earlier from run folders that "
        "are now lost: rows, notes and sections nothing else can produce are carried from it, marked",
    )
    args = ap.parse_args(argv)
    zoo_records.ARCHIVE, zoo_carried.EARLIER = Path(args.archive), Path(args.earlier)  # this invocation's lookups
    from ferkit.io_utils import write_text

    write_text(args.output, render(Path(args.manifest), Path(args.runs_root), Path(args.output).parent / "zoo_curves"))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
