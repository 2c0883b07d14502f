"""Keep a scored zoo run's small records in the repository, so the zoo table survives losing the run folder.

    python lab/tools/zoo_archive.py runs/zoo/ran_ferresnet_m_ferplus_s0 [more run folders] [--dest lab/results/zoo_runs]

Run folders (``runs/``) are git-ignored and live only on the machine that trained them; a fresh checkout or a
lent GPU machine that is handed back loses them, and with them every number of ``lab/results/zoo.md``. This copies
what ``lab/tools/zoo_table.py`` reads — config.yaml, metrics.csv, zoo_run.json, eval_<head>_<tta>.json, the per-image
probabilities scores_<head>_<tta>.npz (for the manifest's ensembles) and curves.png — into ``DEST/<run>/``, with
their modification times (the table's "still training" check compares them), and writes ``cost.json`` (parameters
and MMACs of each head's fp16 weights), which stands in for the weights the archive leaves out. About 0.1-0.3 MB per
run. ``lab/tools/zoo_table.py`` reads a run from the archive when its run folder is missing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHIVE = ROOT / "lab" / "results" / "zoo_runs"
RECORDS = ("config.yaml", "metrics.csv", "zoo_run.json", "curves.png")  # in this order: metrics before evals
PATTERNS = ("eval_*_none.json", "eval_*_flip.json", "scores_*_none.npz", "scores_*_flip.npz")


def head_costs(run: Path) -> dict[str, dict]:
    """{head: {"params", "mmacs"}} from the run's fp16 weights (best_fp16.pt is the main head)."""
    sys.path.insert(0, str(ROOT / "lab" / "tools"))
    from zoo_records import model_cost

    costs = {}
    for weights in sorted(run.glob("best*_fp16.pt")):
        head = weights.name[len("best_") : -len("_fp16.pt")] if weights.name != "best_fp16.pt" else "main"
        costs[head] = model_cost(weights)
    return costs


def archive_run(run: Path, dest_root: Path = ARCHIVE) -> Path:
    """Copy one scored run's records to ``dest_root/<run name>/``; refuses a run that was never scored."""
    run = Path(run)
    if not (run / "zoo_run.json").is_file() or not (run / "eval_main_none.json").is_file():
        raise SystemExit(
            f"zoo_archive: {run} is not a scored zoo run (needs zoo_run.json and eval_main_none.json; "
            "lab/tools/zoo_run.py or lab/tools/zoo_score.py write them)"
        )
    from ferkit.io_utils import write_json

    dest = Path(dest_root) / run.name
    dest.mkdir(parents=True, exist_ok=True)
    files = [run / n for n in RECORDS] + sorted(f for p in PATTERNS for f in run.glob(p))
    for src in files:
        if src.is_file():
            tmp = dest / f".{src.name}.tmp"
            shutil.copy2(src, tmp)  # with its modification time
            tmp.replace(dest / src.name)
    costs = head_costs(run)
    if costs:
        write_json(dest / "cost.json", costs)
    return dest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", help="scored zoo run folders (runs/zoo/<row>_s<seed>)")
    ap.add_argument("--dest", default=str(ARCHIVE))
    args = ap.parse_args(argv)
    for run in args.runs:
        print(f"zoo_archive: {run} -> {archive_run(Path(run), Path(args.dest))}")


if __name__ == "__main__":
    main()
