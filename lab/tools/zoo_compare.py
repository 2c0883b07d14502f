"""The zoo table's comparisons (``comparisons:`` in zoo.yaml): mean +- std per row over its finished seeds and
Welch's t-test verdicts ("higher", "lower" or "cannot rank") for accuracy, macro-F1 and rarest-class recall."""

from __future__ import annotations

import statistics
import warnings
from pathlib import Path

from zoo_carried import carried_section
from zoo_records import pct, run_folder, run_numbers

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
            f"| {n} | {len(runs)}/{len(rows[n].get('seeds', [0]))} | {pct([r['acc'] for r in runs])} | "
            f"{f1_text} | {pct([r['rarest_recall'] for r in runs])}{rarest} | {per_seed(seeded[n])} |"
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
