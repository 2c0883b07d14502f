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
import csv
import json
import re
import statistics
import sys
import warnings
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
DEFAULT_ARCHIVE = ROOT / "lab" / "results" / "zoo_runs"  # lab/tools/zoo_archive.py: runs whose folders are gone
ARCHIVE = DEFAULT_ARCHIVE  # what run_folder() reads; main() sets it from --archive
DEFAULT_EARLIER = ROOT / "lab" / "results" / "zoo_earlier.md"  # the last table generated from now-lost run folders
EARLIER = DEFAULT_EARLIER  # what earlier_records() reads; main() sets it from --earlier
CARRIED = "\u2020"  # marks what is carried from EARLIER, not recomputed


def run_folder(runs_root: Path, name: str) -> Path:
    """A run's folder under ``runs_root``; its archived record (lab/tools/zoo_archive.py) when only that survives."""
    live = runs_root / name
    if (live / "zoo_run.json").is_file() or not (ARCHIVE / name / "zoo_run.json").is_file():
        return live
    return ARCHIVE / name


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


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def epochs(run: Path, key: str = "val_acc") -> dict:
    """Selected epoch (best validation accuracy ``key``, what best*.pt holds), its accuracy, last epoch and its
    accuracy (``val_acc``: the main head; ``val_<head>_acc``: an auxiliary head)."""
    path = run / "metrics.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in r.items() if v not in ("", None)} for r in csv.DictReader(f)]
    rows = [r for r in rows if key in r]
    if not rows:
        return {}
    best = max(rows, key=lambda r: r[key])
    config = run / "config.yaml"
    saved = yaml.safe_load(config.read_text()) if config.is_file() else {}
    patience, last = saved.get("early_stop_patience"), int(rows[-1]["epoch"])
    main_best = int(max((r for r in rows if "val_acc" in r), key=lambda r: r["val_acc"], default=best)["epoch"])
    stopped_early = bool(patience) and last - main_best >= patience
    return {
        "selected_epoch": int(best["epoch"]),
        "selected_val_acc": best[key],
        "last_epoch": last,
        "last_val_acc": rows[-1][key],
        "epochs_run": len(rows),
        "epochs_planned": saved.get("epochs"),
        "early_stop_patience": patience,
        "stopped_early": stopped_early,
        "finished": not saved.get("epochs") or last >= saved["epochs"] or stopped_early,
    }


def epoch_text(r: dict) -> str:
    """ "selected/last", with "of N, partial" while a run has not reached its planned epochs (a budget stop) and
    "of N, early stop" when it finished by its early-stopping patience (the main head's selection)."""
    text = f"{r.get('selected_epoch', '-')}/{r.get('last_epoch', '-')}"
    planned, last = r.get("epochs_planned"), r.get("last_epoch")
    if r.get("stale"):
        return f"{text}, still training; scores are of an earlier slice"
    if planned and last and last < planned:
        text += (
            f" of {planned}, early stop (patience {r['early_stop_patience']})"
            if r.get("stopped_early")
            else f" of {planned}, partial"
        )
    return text


def model_cost(weights: Path) -> dict:
    """Parameters and MMACs of the run's architecture at its input size."""
    if not weights.is_file():
        return {}
    from bench_models import count_macs

    from ferkit.models.checkpoint import load_model

    loaded = load_model(weights)
    pre = loaded.preprocess
    return {
        "params": sum(p.numel() for p in loaded.model.parameters()),
        "mmacs": count_macs(loaded.model, pre.input_size, pre.in_chans) / 1e6,
    }


def run_numbers(run: Path, head: str = "main") -> dict | None:
    """Everything the table needs from one run folder, or None when it has no evaluation."""
    single, flip = _json(run / f"eval_{head}_none.json"), _json(run / f"eval_{head}_flip.json")
    meta = _json(run / "zoo_run.json")
    if not single or not meta:
        return None
    rarest = min(single["per_class"].items(), key=lambda kv: kv[1]["support"])
    weights = run / ("best_fp16.pt" if head == "main" else f"best_{head}_fp16.pt")
    cost = model_cost(weights) or (_json(run / "cost.json") or {}).get(head, {})  # an archived run: no weights
    return {
        "acc": single["accuracy"],
        "acc_flip": flip["accuracy"] if flip else None,
        "macro_f1": single["macro_f1"],
        "n": single["n"],
        "ece": single.get("ece"),
        "rarest": rarest[0],
        "rarest_recall": rarest[1]["recall"],
        "onnx_ms": meta.get("onnx_ms_per_face"),
        "hardware": meta.get("hardware"),
        "wall_min": meta.get("wall_seconds", 0) / 60,
        "command": meta.get("command"),
        "slices": len(meta.get("slices") or [meta]),
        # trained further since it was scored (a slice still running): the scores are of an earlier best
        "stale": (run / "metrics.csv").is_file()
        and (run / "metrics.csv").stat().st_mtime > (run / f"eval_{head}_none.json").stat().st_mtime + 1,
        **epochs(run, "val_acc" if head == "main" else f"val_{head}_acc"),
        **cost,
    }


def _pct(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} +- {100 * statistics.stdev(values):.2f}"


def _num(values: list, fmt: str) -> str:
    values = [v for v in values if v is not None]
    return format(statistics.mean(values), fmt) if values else "-"


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
            archived = run.parent.resolve() == Path(ARCHIVE).resolve()
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
            f"| {label}{seeds_note} | {spec['dataset']} | {_pct([r['acc'] for r in done])} | "
            f"{_pct([r['acc_flip'] for r in done])} | {_num([r['macro_f1'] for r in done], '.3f')} | "
            f"{_pct([r['rarest_recall'] for r in done])} ({done[0]['rarest']}) | "
            f"{_num([r.get('params', 0) / 1e6 if r.get('params') else None for r in done], '.3f')} | "
            f"{_num([r.get('mmacs') for r in done], '.1f')} | {_num([r['onnx_ms'] for r in done], '.2f')} | "
            f"{'; '.join(epoch_text(r) for r in done)} | "
            f"{_pct([r.get('last_val_acc') for r in done])} | {ref_text} |"
        )
        if head == "main":
            r0 = done[0]
            slices = max(r["slices"] for r in done)
            in_slices = f" (in {slices} resumed slices; the command is the last one)" if slices > 1 else ""
            curves = copy_curves(row, runs_root, curves_dir)
            notes.append(
                f"- **{row['name']}**: {r0['hardware']}, {_num([r['wall_min'] for r in done], '.1f')} min "
                f"wall per run{in_slices}; `{r0['command']}`. Reference: {ref.get('metric', '')}; "
                f"{ref.get('source', '')}." + (f" Training curves: {', '.join(curves)}." if curves else "")
            )
    return lines, notes


RANK_P = 0.05  # Welch's t-test level at which a comparison ranks two rows


def rank_verdict(a: list[float], b: list[float]) -> tuple[float, float | None, str]:
    """(mean difference a - b, Welch's t-test p-value, verdict) for two rows' per-seed values of one metric.

    The verdict ranks only when both rows have at least two seeds and p < RANK_P; otherwise it says why not."""
    diff = statistics.mean(a) - statistics.mean(b)
    if min(len(a), len(b)) < 2:
        return diff, None, "cannot rank: needs at least 2 finished seeds per row"
    if statistics.pvariance(a) == 0 and statistics.pvariance(b) == 0:
        p = 0.0 if diff else 1.0
    else:
        from scipy.stats import ttest_ind

        with warnings.catch_warnings():  # one row's seeds may agree exactly (the same 9 of 13 contempt faces):
            warnings.simplefilter("ignore", RuntimeWarning)  # scipy then warns, yet Welch's test is well defined
            p = float(ttest_ind(a, b, equal_var=False).pvalue)
    if p < RANK_P:
        return diff, p, "higher" if diff > 0 else "lower"
    return diff, p, "cannot rank: the difference is within seed-to-seed noise"


COMPARED = (
    ("acc", "PublicTest accuracy", 100, "points"),
    ("macro_f1", "macro-F1", 1, ""),
    ("rarest_recall", "rarest-class recall", 100, "points"),
)


def per_seed(seeded: list[tuple[int, dict]]) -> str:
    """Each finished seed's accuracy / macro-F1 / rarest-class recall: with 2-3 seeds the spread is the story."""
    return (
        "; ".join(
            f"s{s}: {100 * r['acc']:.2f} / {r['macro_f1']:.3f} / {100 * r['rarest_recall']:.1f}" for s, r in seeded
        )
        or "-"
    )


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


def comparison_lines(spec: dict, runs_root: Path, rows: dict[str, dict], earlier: dict | None = None) -> list[str]:
    """A comparison of manifest rows (``comparisons:`` in zoo.yaml): per-row mean +- std over finished seeds,
    then each metric's pairwise verdict, first row against every other. With no run of any of its rows, the
    ``earlier`` table's section of the same title, if there is one."""
    names = spec["rows"]
    seeded = {
        n: [
            (s, r)
            for s, r in ((s, run_numbers(run_folder(runs_root, f"{n}_s{s}"))) for s in rows[n].get("seeds", [0]))
            if r and r.get("finished", True)
        ]
        for n in names
    }  # budget-stopped runs are not compared
    done = {n: [r for _, r in seeded[n]] for n in names}
    if not any(done.values()) and (carried := carried_section(spec["title"], earlier)):
        return carried
    out = [
        f"### {spec['title']}",
        "",
        "| row | finished seeds | PublicTest acc % | macro-F1 | rarest-class recall % | per seed: acc % / F1 / rarest % |",
        "|---|---|---|---|---|---|",
    ]
    for n in names:
        runs = done[n]
        rarest = f" ({runs[0]['rarest']})" if runs else ""
        f1 = [r["macro_f1"] for r in runs]
        f1_text = (
            "-" if not f1 else f"{statistics.mean(f1):.3f}" + (f" +- {statistics.stdev(f1):.3f}" if len(f1) > 1 else "")
        )
        out.append(
            f"| {n} | {len(runs)}/{len(rows[n].get('seeds', [0]))} | {_pct([r['acc'] for r in runs])} | "
            f"{f1_text} | {_pct([r['rarest_recall'] for r in runs])}{rarest} | {per_seed(seeded[n])} |"
        )
    out.append("")
    first = names[0]
    for other in names[1:]:
        if not done[first] or not done[other]:
            out.append(f"- {first} vs {other}: no verdict yet (a row has no finished run).")
            continue
        parts = []
        for key, what, scale, unit in COMPARED:
            diff, p, verdict = rank_verdict([r[key] for r in done[first]], [r[key] for r in done[other]])
            p_text = f", p = {p:.3f}" if p is not None else ""
            parts.append(
                f"{what} {scale * diff:+.{2 if scale == 100 else 3}f}{(' ' + unit) if unit else ''}{p_text}: {verdict}"
            )
        out.append(f"- {first} vs {other}: " + "; ".join(parts) + ".")
    out += [
        "",
        f"Verdicts: Welch's t-test over the seeds of each row, ranked at p < {RANK_P}. With 3 seeds only "
        'large, consistent differences rank; "cannot rank" is a result, not a missing one.',
        "",
    ]
    return out


def member_scores(run: Path, tta: str, head: str = "main") -> tuple | None:
    """(scores over the split's labels in dataset order, hard labels, dataset labels) of a scored run's head, or
    None."""
    path = run / f"scores_{head}_{tta}.npz"
    if not path.is_file():
        return None
    import numpy as np

    with np.load(path) as z:
        scores, labels, names, hard = z["scores"], list(z["labels"]), list(z["dataset_labels"]), z["hard"]
    aligned = np.zeros((len(scores), len(names)), np.float64)
    for i, name in enumerate(names):
        if name in labels:
            aligned[:, i] = scores[:, labels.index(name)]
    return aligned / np.maximum(aligned.sum(1, keepdims=True), 1e-12), hard, names


def ensemble_lines(spec: dict, runs_root: Path, rows: dict[str, dict], earlier: dict | None = None) -> list[str]:
    """A manifest ensemble (``ensembles:`` in zoo.yaml): the mean of its rows' saved PublicTest probabilities
    (every scored seed of each row), all members and each leave-one-out, beside every member alone. With no
    scored member, the ``earlier`` table's section of the same title, if there is one."""
    import numpy as np

    from ferkit.evaluation.metrics import accuracy, confusion_matrix, macro_f1

    tta = spec.get("tta", "flip")
    members = {}
    for member in spec["rows"]:
        name, _, head = member.partition(":")  # "row:head": an auxiliary head of a multi-task row
        head = head or "main"
        for seed in rows[name].get("seeds", [0]):
            run = run_folder(runs_root, f"{name}_s{seed}")
            got = member_scores(run, tta, head)
            numbers = run_numbers(run, head)
            if got is not None and numbers:
                members[run.name if head == "main" else f"{run.name} ({head} head)"] = (got, numbers)
    if not members and (carried := carried_section(spec["title"], earlier)):
        return carried
    out = [f"### {spec['title']}", ""]
    if len(members) < 2:
        return out + [f"Needs at least two scored members; has {len(members)}.", ""]
    hards = [g[1] for g, _ in members.values()]
    if any(len(h) != len(hards[0]) or (h != hards[0]).any() for h in hards):
        return out + ["The members were scored on different images (e.g. an evaluation subset): no ensemble.", ""]
    hard = hards[0]
    keep = hard >= 0

    def score(names: list[str]) -> tuple[float, float]:
        p = np.mean([members[n][0][0] for n in names], axis=0)[keep]
        cm = confusion_matrix(hard[keep], p.argmax(1), p.shape[1])  # the metrics `ferkit evaluate` reports
        return accuracy(cm), macro_f1(cm)

    out += [
        f"Mean of the members' {tta}-TTA probabilities on PublicTest (n={int(keep.sum())}); a member still "
        "training is scored with its best weights so far (see its row above).",
        "",
        "| members | accuracy % | macro-F1 |",
        "|---|---|---|",
    ]
    names = list(members)
    for n in names:
        acc, f1 = score([n])
        partial = "" if members[n][1].get("finished", True) else " (partial)"
        out.append(f"| {n}{partial} alone | {100 * acc:.2f} | {f1:.3f} |")
    acc, f1 = score(names)
    out.append(f"| **all {len(names)}** | **{100 * acc:.2f}** | **{f1:.3f}** |")
    if len(names) > 2:
        for n in names:
            acc, f1 = score([m for m in names if m != n])
            out.append(f"| all but {n} | {100 * acc:.2f} | {f1:.3f} |")
    return out + [""]


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
        default=str(DEFAULT_ARCHIVE),
        help="archived run records (lab/tools/zoo_archive.py), read for runs whose folder is missing under --runs-root",
    )
    ap.add_argument(
        "--earlier",
        default=str(DEFAULT_EARLIER),
        help="a table generated earlier from run folders that "
        "are now lost: rows, notes and sections nothing else can produce are carried from it, marked",
    )
    args = ap.parse_args(argv)
    global ARCHIVE, EARLIER  # the lookups of this invocation
    ARCHIVE, EARLIER = Path(args.archive), Path(args.earlier)
    from ferkit.io_utils import write_text

    write_text(args.output, render(Path(args.manifest), Path(args.runs_root), Path(args.output).parent / "zoo_curves"))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
