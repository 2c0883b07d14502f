"""Build lab/results/robust_finetune.md from the robust fine-tune's measurement files (no hand-typed numbers).

    python lab/tools/robust_report.py --runs runs/robust --candidates robust gentle lowlr shipped \
        --preamble lab/results/robust_finetune_preamble.txt --decision lab/results/robust_finetune_decision.txt

Reads, in ``--runs``, for the previously shipped models (tag ``before``) and each candidate tag (``shipped``:
the packaged files, measured after packaging):
eval_<tag>_<ferplus|fer2013>.json (``ferkit evaluate ... --perturb blur jpeg lowres --json``) and
bench_<tag>.json (``benchmarks/bench_realphotos.py --detectors auto --json``); optionally pred_<tag>/ (each item's
prediction, ``lab/tools/measure_candidate.sh``), for paired intervals against the tag ``before``; framing.md
(``lab/tools/measure_framing.py``) and each candidate's training curve, multitask_<tag>/metrics.csv (tag
``robust`` -> multitask_robust, others -> multitask_robust_<tag>). ``--decision`` is a Markdown file with the
shipping decision, appended as it is. Also writes the numbers as JSON next to the page.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

MODELS = ("ferplus", "fer2013")
STAGES: tuple[str, ...] = ("before",)  # set from --candidates in main()
RUN_DIRS: dict[str, str] = {}  # --run-dir TAG=DIR: a candidate's training folder, if not the default
# the "is it clearly better" rule of the issue: PublicTest may drop at most this much (accuracy, points)
MAX_DROP_POINTS = 0.3


def run_dir(runs: Path, tag: str) -> Path:
    if tag in RUN_DIRS:
        return Path(RUN_DIRS[tag])
    return runs / ("multitask_robust" if tag == "robust" else f"multitask_robust_{tag}")


def load(runs: Path) -> dict:
    evals = {(m, s): json.loads((runs / f"eval_{s}_{m}.json").read_text()) for m in MODELS for s in STAGES}
    bench = {s: json.loads((runs / f"bench_{s}.json").read_text())["results"] for s in STAGES}
    history = {
        s: list(csv.DictReader((run_dir(runs, s) / "metrics.csv").open()))
        for s in STAGES[1:]
        if (run_dir(runs, s) / "metrics.csv").is_file()
    }  # a packaged model (e.g. "shipped") has no curve
    framing = (runs / "framing.md").read_text().strip() if (runs / "framing.md").is_file() else None
    return {"evals": evals, "bench": bench, "history": history, "framing": framing}


def teachers_table(runs: Path) -> str:
    """The teacher ensembles of a distillation candidate, when measured: eval_teachers_<model>_<none|flip>.json
    (``ferkit evaluate --model ENSEMBLE.pt --dataset <model> [--tta flip] --json``)."""
    lines = [
        "| head | teacher ensemble | n | accuracy | accuracy, flip TTA | macro-F1 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for m in MODELS:
        single, flip = runs / f"eval_teachers_{m}_none.json", runs / f"eval_teachers_{m}_flip.json"
        if not single.is_file():
            continue
        r = json.loads(single.read_text())
        f = json.loads(flip.read_text()) if flip.is_file() else None
        flip_text = "-" if f is None else f"{100 * f['accuracy']:.2f}%"
        lines.append(
            f"| {m} | `{Path(r['model']).name}` | {r['n']} | {100 * r['accuracy']:.2f}% | {flip_text} | "
            f"{r['macro_f1']:.4f} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def setup(runs: Path, tag: str) -> str:
    """' (N threads, precision)' from a candidate's saved training config; runs from before configs were saved
    there trained on one thread in bf16."""
    path = run_dir(runs, tag) / "config.yaml"
    if not path.is_file():
        return " (one thread, bf16)"
    import yaml

    cfg = yaml.safe_load(path.read_text()) or {}
    threads, precision = cfg.get("threads"), cfg.get("precision") or "auto"  # the trainer's defaults
    threads_text = "torch's default threads" if threads is None else f"{threads} thread{'s' if threads != 1 else ''}"
    return f" ({threads_text}, {precision})"


def model_of(row: dict) -> str:
    """Bench rows name models by file; the file stem is the model's name (ferplus.pt, best_fer2013.pt...)."""
    stem = Path(row["model"]).stem
    return "fer2013" if "fer2013" in stem else "ferplus"


def clean_table(evals: dict) -> tuple[str, dict]:
    lines = ["| model | stage | n | accuracy | macro-F1 |", "|---|---|---:|---:|---:|"]
    deltas: dict = {}
    for m in MODELS:
        for s in STAGES:
            r = evals[(m, s)]
            change = 100 * (r["accuracy"] - evals[(m, "before")]["accuracy"])
            lines.append(
                f"| {m} | {s} | {r['n']} | {100 * r['accuracy']:.2f}% "
                f"{'' if s == 'before' else f'({change:+.2f})'} | {r['macro_f1']:.4f} |"
            )
            if s != "before":
                deltas.setdefault(s, {})[m] = change
    return "\n".join(lines), deltas


def perturb_table(evals: dict) -> tuple[str, dict]:
    names = [r["name"] for r in evals[(MODELS[0], "before")]["perturbations"]["results"]]
    lines = [
        "| perturbation | " + " | ".join(f"{m} {s}" for m in MODELS for s in STAGES) + " |",
        "|---|" + "---:|" * (len(MODELS) * len(STAGES)),
    ]
    gains: dict = {}
    rows: dict = {}
    for name in ["clean", *names]:
        cells = []
        for m in MODELS:
            acc = {}
            for s in STAGES:
                p = evals[(m, s)]["perturbations"]
                acc[s] = (
                    p["clean"]["accuracy"]
                    if name == "clean"
                    else next(r["accuracy"] for r in p["results"] if r["name"] == name)
                )
                change = 100 * (acc[s] - acc["before"])
                if name != "clean" and s != "before":
                    gains.setdefault(s, {}).setdefault(m, []).append(change)
                cells.append(f"{100 * acc[s]:.2f}%" + ("" if s == "before" else f" ({change:+.1f})"))
            rows.setdefault(name, {})[m] = acc
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    mean_gain = {s: {m: sum(v) / len(v) for m, v in g.items()} for s, g in gains.items()}
    lines.append(
        "| mean change, degraded rows (points) | "
        + " | ".join("-" if s == "before" else f"{mean_gain[s][m]:+.2f}" for m in MODELS for s in STAGES)
        + " |"
    )
    return "\n".join(lines), {"rows": rows, "mean_gain_points": mean_gain}


def bench_tables(bench: dict) -> tuple[str, str, dict]:
    lines = [
        "| photos | model | stage | n | faces found | accuracy | macro recall | said neutral | labelled neutral |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    classes = sorted({c for s in STAGES for r in bench[s] for c in r["recall"]})
    recall = ["| photos | model | stage | " + " | ".join(classes) + " |", "|---|---|---|" + "---:|" * len(classes)]
    summary: dict = {}
    for set_name in dict.fromkeys(r["set"] for r in bench["before"]):
        for m in MODELS:
            for s in STAGES:
                r = next(r for r in bench[s] if r["set"] == set_name and model_of(r) == m)
                summary.setdefault(set_name, {}).setdefault(m, {})[s] = {
                    k: r[k] for k in ("accuracy", "macro_recall", "said_neutral_pct", "labelled_neutral_pct")
                }
                lines.append(
                    f"| {set_name} | {m} | {s} | {r['photos']} | {r['found']} | {r['accuracy']:.1f}% "
                    f"| {r['macro_recall']:.1f}% | {r['said_neutral_pct']:.1f}% "
                    f"| {r['labelled_neutral_pct']:.1f}% |"
                )
                recall.append(
                    f"| {set_name} | {m} | {s} | "
                    + " | ".join(f"{r['recall'][c]:.1f}" if c in r["recall"] else "-" for c in classes)
                    + " |"
                )
    return "\n".join(lines), "\n".join(recall), summary


def history_table(history: dict[str, list[dict]]) -> str:
    lines = [
        "| run | epoch | train loss | val acc (ferplus head) | val acc (fer2013 head) | img/s | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tag, rows in history.items():
        for h in rows:
            lines.append(
                f"| {tag} | {h['epoch']} | {float(h['train_loss']):.3f} | {float(h['val_acc']):.4f} | "
                f"{float(h['val_fer2013_acc']):.4f} | {float(h['train_img_per_s']):.0f} | "
                f"{float(h['epoch_seconds']):.0f} |"
            )
    return "\n".join(lines)


def paired(runs: Path, bench: dict) -> dict:
    """Each candidate against the shipped pair on the same items, where both have prediction files (RUNS/pred_TAG/,
    written by lab/tools/measure_candidate.sh): PublicTest item by item, CK+48 through the pipeline sequence by
    sequence (``ferkit compare``'s bootstrap interval and sign test)."""
    from ferkit.evaluation.predictions import pair, photo_set_file_name, read_predictions
    from ferkit.evaluation.significance import paired_comparison

    def ck_file(tag: str, m: str) -> Path | None:
        row = next((r for r in bench[tag] if r["set"].startswith("CK+") and model_of(r) == m), None)
        return (
            None
            if row is None
            else runs / f"pred_{tag}" / photo_set_file_name(row["set"], row["model"], row.get("detector", "auto"))
        )

    out: dict = {}
    for s in STAGES[1:]:
        for m in MODELS:
            for kind, a, b in (
                (
                    "publictest",
                    runs / "pred_before" / f"publictest_{m}.csv",
                    runs / f"pred_{s}" / f"publictest_{m}.csv",
                ),
                ("ck_sequences", ck_file("before", m), ck_file(s, m)),
            ):
                if a is None or b is None or not (a.is_file() and b.is_file()):
                    continue
                ca, cb, groups = pair(read_predictions(a), read_predictions(b), a, b)
                r = paired_comparison(ca, cb, groups)
                out.setdefault(s, {}).setdefault(m, {})[kind] = {
                    k: round(r[k], 4) for k in ("difference_points", "ci_low", "ci_high", "sign_test_p")
                } | {k: r[k] for k in ("n_items", "n_groups", "groups_b_better", "groups_a_better")}
    return out


def paired_table(comparisons: dict) -> str:
    def cell(r: dict | None) -> str:
        if r is None:
            return "- | -"
        return (
            f"{r['difference_points']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}] | "
            f"{r['groups_b_better']} / {r['groups_a_better']}, p = {r['sign_test_p']:.2f}"
        )

    lines = [
        "| candidate | model | PublicTest change [95% CI] | items better / worse, sign test | CK+48 change, per "
        "sequence [95% CI] | sequences better / worse, sign test |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for tag, per_model in comparisons.items():
        for m, r in per_model.items():
            lines.append(f"| {tag} | {m} | {cell(r.get('publictest'))} | {cell(r.get('ck_sequences'))} |")
    return "\n".join(lines)


def rule_table(rule: dict) -> str:
    lines = [
        "| candidate | model | PublicTest change (points) | within -0.3 | CK+48 accuracy change | "
        "CK+48 95% CI, per sequence | degraded rows, mean change |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for tag, per_model in rule.items():
        for m, r in per_model.items():
            ci = "-" if "ck_ci_points" not in r else f"[{r['ck_ci_points'][0]:+.2f}, {r['ck_ci_points'][1]:+.2f}]"
            lines.append(
                f"| {tag} | {m} | {r['publictest_change_points']:+.2f} | "
                f"{'yes' if r['publictest_within_limit'] else 'no'} | {r['ck_accuracy_change_points']:+.1f} | "
                f"{ci} | {r['degraded_rows_mean_change_points']:+.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    global STAGES, RUN_DIRS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", default="runs/robust")
    p.add_argument("--candidates", nargs="+", default=["robust"])
    p.add_argument("--out", default="lab/results/robust_finetune.md")
    p.add_argument("--decision", help="Markdown file with the shipping decision")
    p.add_argument("--preamble", help="Markdown file with the recipe description (placed after the title)")
    p.add_argument("--title", default="Robust fine-tune of the shipped models (blur, low resolution, JPEG, framing)")
    p.add_argument(
        "--run-dir",
        nargs="*",
        default=[],
        metavar="TAG=DIR",
        help="a candidate's training folder (metrics.csv), when not RUNS/multitask_robust_TAG",
    )
    p.add_argument("--rule", help="Markdown file stating the shipping rule (default: the robust fine-tune's)")
    p.add_argument("--command", help="the command line to print as this page's generator (default: none)")
    args = p.parse_args()
    STAGES = ("before", *args.candidates)
    RUN_DIRS = dict(item.split("=", 1) for item in args.run_dir)
    data = load(Path(args.runs))
    clean, deltas = clean_table(data["evals"])
    perturbed, robust = perturb_table(data["evals"])
    bench, recall, real = bench_tables(data["bench"])
    ck = next(k for k in real if k.startswith("CK+"))
    rule = {
        s: {
            m: {
                "publictest_change_points": round(deltas[s][m], 2),
                "publictest_within_limit": deltas[s][m] >= -MAX_DROP_POINTS,
                "ck_accuracy_change_points": round(real[ck][m][s]["accuracy"] - real[ck][m]["before"]["accuracy"], 2),
                "degraded_rows_mean_change_points": round(robust["mean_gain_points"][s][m], 2),
            }
            for m in MODELS
        }
        for s in STAGES[1:]
    }
    comparisons = paired(Path(args.runs), data["bench"])
    for s, per_model in comparisons.items():
        for m, r in per_model.items():
            if "ck_sequences" in r:
                ck_r = r["ck_sequences"]
                rule[s][m]["ck_ci_points"] = [ck_r["ci_low"], ck_r["ci_high"]]
                rule[s][m]["ck_significantly_worse"] = ck_r["ci_high"] < 0
    preamble = Path(args.preamble).read_text().strip() if args.preamble else ""
    decision = Path(args.decision).read_text().strip() if args.decision else "(decision pending)"
    minutes = {s: sum(float(h["epoch_seconds"]) for h in rows) / 60 for s, rows in data["history"].items()}
    framing = (
        ""
        if data["framing"] is None
        else f"""## Framing: where the aligner's crops sit in FER2013's

`python lab/tools/measure_framing.py --n 1000`: the similarity transform mapping each FER2013 PublicTest face's
BlazeFace landmarks onto the alignment template (zoom factor, roll in degrees, shift of the crop centre as a
fraction of the side). The pipeline's crops are the template (zoom 1, roll 0, shift 0) up to landmark noise:
the centre of FER2013's spread, so the original scale/rotate/translate jitter already covers the pipeline's
framing.

{data["framing"]}

"""
    )
    rule_text = (
        Path(args.rule).read_text().strip()
        if args.rule
        else (
            f"Ship only if PublicTest accuracy drops by at most {MAX_DROP_POINTS} points AND the real-photo (CK+48 "
            "pipeline)\naccuracy or the degraded-input rows clearly improve."
        )
    )
    generated = f"`{args.command}`" if args.command else "`lab/tools/robust_report.py`"
    teachers = teachers_table(Path(args.runs))
    teachers = f"## Teacher ensembles, PublicTest\n\n{teachers}\n\n" if teachers else ""
    paired_section = (
        ""
        if not comparisons
        else f"""## Real difference or noise? Paired comparisons with the shipped pair

    ferkit compare RUNS/pred_before/FILE RUNS/pred_TAG/FILE      # files written by lab/tools/measure_candidate.sh

Candidate minus shipped model on the same items, in points, with a 95% bootstrap interval (10,000 resamples) and
the exact two-sided sign test over the items (PublicTest) or the CK+ sequences (each CK+48 sequence gives three
nearly identical frames; whole sequences are resampled and counted once) that one model gets right and the other
wrong. An interval that contains 0 is a difference these test sets cannot tell from noise.

{paired_table(comparisons)}

"""
    )
    text = f"""# {args.title}

Generated by {generated} from the measurement files of the runs (`{args.runs}/`); every number
below was measured. Training time per candidate (sum of epoch times): {", ".join(f"{s} {v:.1f} min{setup(Path(args.runs), s)}" for s, v in minutes.items())}.

{preamble}

{framing}{teachers}## The shipping rule, per candidate

{rule_text}

{rule_table(rule)}

{paired_section}## PublicTest, clean, single centre view

    ferkit evaluate --model M --dataset ferplus|fer2013 --split PublicTest --perturb blur jpeg lowres --json F

{clean}

## PublicTest under degradations (accuracy; change from the shipped model in points)

Same command: blur = Gaussian sigma 1/2 px; jpeg = Pillow/libjpeg round trip at quality 50/25/10;
lowres = area-resized to 24/16/12 px and bilinearly back to 48.

{perturbed}

## Full pipeline on real photos (detector auto)

    python benchmarks/bench_realphotos.py --models FERPLUS.pt,FER2013.pt --detectors auto --threads 1 --json F

CK+48: 981 frames of 48x48 grey crops through detect, align, classify (CK+48 has no neutral frames, so every
"neutral" answer there is wrong); sample photos: the 5 labelled photos in samples/images (too few to rank
anything). "said neutral" = share of found faces the model calls neutral.

{bench}

Per-class recall (%):

{recall}

## Training curves (trainer's validation = PublicTest with the training label mode)

{history_table(data["history"])}

## Decision

{decision}
"""
    out = Path(args.out)
    out.write_text(text)
    out.with_suffix(".json").write_text(
        json.dumps(
            {
                "rule": rule,
                "robustness": robust,
                "real_photos": real,
                "publictest_change_points": deltas,
                "paired": comparisons,
            },
            indent=2,
        )
        + "\n"
    )
    print(json.dumps(rule, indent=2))


if __name__ == "__main__":
    main()
