"""Train the model zoo (lab/configs/zoo/zoo.yaml) side by side on one machine within a time budget, then score it.

    python lab/tools/zoo_run.py --budget-minutes 9 --parallel 4 --runs-root runs/zoo [--rows vgg_fer_rt_fer2013 ...]
        [--set epochs=1 data.train_subset=64 ...] [--pack OUT_DIR]

Small models leave a GPU idle, so several ``ferkit train`` processes share it; each gets ``max_minutes`` = its fair
share of the budget (budget x parallel / number of runs, times the row's optional ``share`` in the manifest, never
past the deadline), stops cleanly with a checkpoint and can be continued later with ``ferkit train --config ...
--resume`` (same out_dir; the driver adds --resume itself when last.pt exists). Each finished run is scored by
lab/tools/zoo_score.py in its own process (PublicTest, single view and flip TTA, every head; fp16 weights; zoo_run.json
with command, hardware, wall time, exit code); ONNX ms/face on one thread is timed at the end, when no training
shares the machine. ``--pack`` writes the runs folder as one tar split into at most 8 parts of < 16 MiB (the device
tool's transfer limit), fp16 checkpoints of the lowest-priority rows dropped first when everything does not fit:
``cat zoo.tar.part* | tar x`` restores them. ``--archive DIR`` copies each scored run's small records (no weights)
to DIR with lab/tools/zoo_archive.py: run folders are git-ignored and die with the checkout, the archive is committed.
A manifest row may add ``set`` (overrides for its runs; ``{runs}`` is the runs folder), ``after`` (rows whose runs
must end first, e.g. the teachers a distilled student learns from) and ``budget_share`` (the fraction of the whole
budget its runs may take, leaving the rest to rows after it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "lab" / "configs" / "zoo" / "zoo.yaml"
PART_BYTES = 16 * 2**20 - 64 * 1024  # under the 16 MiB per-file limit, with room for tar padding
MAX_PARTS = 8


@dataclass
class Job:
    row: dict
    seed: int
    out: Path
    started: float = 0.0
    proc: subprocess.Popen | None = None
    command: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.out.name


def load_rows(manifest: Path = MANIFEST, names: list[str] | None = None) -> list[dict]:
    rows = yaml.safe_load(Path(manifest).read_text())["rows"]
    if names:
        unknown = sorted(set(names) - {r["name"] for r in rows})
        if unknown:
            raise SystemExit(f"zoo_run: unknown rows {unknown}; choose from {[r['name'] for r in rows]}")
        rows = [r for r in rows if r["name"] in names]
    return sorted(rows, key=lambda r: r.get("priority", 9))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ferkit.cli.main", *args]


def row_overrides(row: dict, runs_root: Path) -> list[str]:
    """The row's own ``set`` overrides, ``{runs}`` replaced by the runs folder (e.g. teacher checkpoints of
    rows trained earlier in the same folder)."""
    return [str(item).replace("{runs}", str(runs_root)) for item in row.get("set", [])]


def ready(job: Job, waiting: list[Job], running: list[Job]) -> bool:
    """A row with ``after: [rows]`` starts once no run of those rows is waiting or running."""
    after = set(job.row.get("after", []))
    return not any(other.row["name"] in after for other in waiting + running if other is not job)


def start(job: Job, minutes_left: float, overrides: list[str], threads: int, device: str) -> None:
    job.out.mkdir(parents=True, exist_ok=True)
    job.command = _cli(
        "train",
        "--config",
        str(ROOT / job.row["config"]),
        "--out-dir",
        str(job.out),
        "--no-progress",
        f"seed={job.seed}",
        f"max_minutes={max(0.1, minutes_left):.2f}",
        f"threads={threads}",
        f"device={device}",
        *row_overrides(job.row, job.out.parent),
        *overrides,
    )
    if (job.out / "last.pt").is_file():
        job.command.append("--resume")
    job.started = time.time()
    log = open(job.out / "train.log", "a")
    job.proc = subprocess.Popen(job.command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def finish(job: Job, hw: str, device: str, eval_subset: int | None) -> subprocess.Popen:
    """Start scoring a finished run (lab/tools/zoo_score.py) in its own process; returns it."""
    code = job.proc.returncode
    wall = time.time() - job.started
    shown = " ".join(job.command).replace(sys.executable, "python").replace(f"{ROOT}/", "")
    cmd = [
        sys.executable,
        str(ROOT / "lab" / "tools" / "zoo_score.py"),
        str(job.out),
        "--row",
        job.row["name"],
        "--seed",
        str(job.seed),
        "--exit-code",
        str(code),
        "--wall-seconds",
        f"{wall:.1f}",
        "--command",
        shown,
        "--hardware",
        hw,
        "--device",
        device,
        "--no-onnx",
    ]
    if eval_subset:
        cmd += ["--eval-subset", str(eval_subset)]
    print(f"zoo_run: {job.name} exit {code} after {wall / 60:.1f} min; scoring", flush=True)
    log = open(job.out / "score.log", "a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def finished_and_scored(out: Path) -> bool:
    """Whether a run folder holds a run that ended (all epochs, or stopped early) and was scored after that."""
    sys.path.insert(0, str(ROOT / "lab" / "tools"))
    from zoo_records import epochs

    scored = out / "eval_main_none.json"
    return (
        scored.is_file()
        and epochs(out).get("finished", False)
        and scored.stat().st_mtime >= (out / "metrics.csv").stat().st_mtime
    )


def run_all(
    rows: list[dict],
    runs_root: Path,
    budget_minutes: float,
    parallel: int,
    overrides: list[str],
    threads: int,
    device: str,
    eval_subset: int | None = None,
    seeds: list[int] | None = None,
    archive: Path | None = None,
) -> list[Job]:
    """Train every (row, seed) by priority, ``parallel`` at a time, within the budget; score each as it ends.
    ``seeds``: only these seeds of each row. Runs that finished and were scored before are not started again.
    ``archive``: copy each scored run's records there (lab/tools/zoo_archive.py), so the table outlives the folder."""
    queue = [
        Job(r, s, runs_root / f"{r['name']}_s{s}")
        for r in rows
        for s in r.get("seeds", [0])
        if seeds is None or s in seeds
    ]
    for job in [j for j in queue if finished_and_scored(j.out)]:
        print(f"zoo_run: {job.name} finished and scored before; not started again", flush=True)
        queue.remove(job)
    deadline = time.time() + budget_minutes * 60
    # fair share of the budget: every run gets budget * parallel / (total shares) * its share, so later rows
    # start too; a run that ends early (finished its epochs) hands its slot to the next one
    shares = sum(j.row.get("share", 1.0) for j in queue) or 1.0
    per_share = budget_minutes * min(parallel, len(queue)) / shares
    from ferkit.training.hardware import describe_hardware

    hw = describe_hardware(device, shared=True)
    eval_device = "cuda" if device != "cpu" and "CPU" not in hw else "cpu"
    running: list[Job] = []
    scoring: list[subprocess.Popen] = []
    done = []
    while queue or running:
        while len(running) < parallel and time.time() < deadline - 30:
            job = next((j for j in queue if ready(j, queue, running)), None)
            if job is None:
                break  # the rest waits for rows it learns from
            queue.remove(job)
            left = (deadline - time.time()) / 60 - 0.5
            # budget_share: this row's runs stop after that fraction of the whole budget (teachers leave the
            # rest to the rows that wait for them)
            cap = (
                job.row["budget_share"] * budget_minutes
                if "budget_share" in job.row
                else per_share * job.row.get("share", 1.0)
            )
            start(job, min(left, cap), overrides, threads, device)
            running.append(job)
            print(f"zoo_run: started {job.name}", flush=True)
        if not running:
            break  # budget spent: the rest of the queue is not started
        time.sleep(1.0)
        for job in [j for j in running if j.proc.poll() is not None]:
            running.remove(job)
            scoring.append(finish(job, hw, eval_device, eval_subset))
            done.append(job)
    for job in queue:
        print(f"zoo_run: not started (budget spent or its `after` rows did not finish): {job.name}", flush=True)
    for proc in scoring:
        proc.wait()
    # ONNX ms/face once nothing else runs: timings taken beside training processes are meaningless
    sys.path.insert(0, str(ROOT / "lab" / "tools"))
    from zoo_score import add_onnx_timing

    for job in done:
        add_onnx_timing(job.out)
    if archive is not None:
        from zoo_archive import archive_run

        for job in done:
            if (job.out / "eval_main_none.json").is_file():
                print(f"zoo_run: archived {job.name} -> {archive_run(job.out, archive)}", flush=True)
    return done


def pack(runs_root: Path, dest: Path, priorities: dict[str, int], max_parts: int = MAX_PARTS) -> list[Path]:
    """One tar of ``runs_root`` (run folders and top-level files), split in <= max_parts parts of < 16 MiB.
    last.pt (fp32 + optimizer) and best*.pt stay behind; the fp16 copies travel, dropped lowest priority
    first when everything does not fit."""
    dest.mkdir(parents=True, exist_ok=True)
    small, weights = [], []
    for f in sorted(p for p in runs_root.rglob("*") if p.is_file()):
        if f.suffix != ".pt":
            small.append(f)
        elif f.name.endswith("_fp16.pt"):
            weights.append(f)
    weights.sort(key=lambda f: priorities.get(f.parent.name, 9))
    budget = max_parts * PART_BYTES - sum(f.stat().st_size + 1024 for f in small) - 2**20
    chosen, total = [], 0
    for f in weights:
        if total + f.stat().st_size + 1024 <= budget:
            chosen.append(f)
            total += f.stat().st_size + 1024
        else:
            print(f"zoo_run: pack: no room for {f}", flush=True)
    tar_path = dest / "zoo.tar"
    with tarfile.open(tar_path, "w") as tar:
        for f in small + chosen:
            tar.add(f, arcname=str(f.relative_to(runs_root)))
    parts = []
    with open(tar_path, "rb") as src:
        for i in range(max_parts):
            chunk = src.read(PART_BYTES)
            if not chunk:
                break
            part = dest / f"zoo.tar.part{i:02d}"
            part.write_bytes(chunk)
            parts.append(part)
        left = src.read(1)
    tar_path.unlink()
    if left:
        raise SystemExit(f"zoo_run: pack: the archive does not fit in {max_parts} parts")
    return parts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", default=str(MANIFEST))
    ap.add_argument("--rows", nargs="+", help="only these zoo rows (default: all, by priority)")
    ap.add_argument("--seeds", nargs="+", type=int, help="only these seeds of each row (default: the manifest's)")
    ap.add_argument("--budget-minutes", type=float, default=0.0, help="wall-clock budget for all training")
    ap.add_argument("--parallel", type=int, default=4, help="training processes at once")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per training process")
    ap.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    ap.add_argument("--runs-root", default="runs/zoo")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run (smoke tests)")
    ap.add_argument("--eval-subset", type=int, help="score on a stratified PublicTest subset (smoke tests only)")
    ap.add_argument(
        "--archive",
        metavar="DIR",
        help="copy each scored run's small records here (the repository's "
        "lab/results/zoo_runs keeps the zoo table reproducible after runs/ is gone)",
    )
    ap.add_argument("--pack", metavar="DIR", help="write the split archive of --runs-root here (after any training)")
    ap.add_argument("--max-parts", type=int, default=MAX_PARTS)
    args = ap.parse_args(argv)
    rows = load_rows(Path(args.manifest), args.rows)
    runs_root = Path(args.runs_root)
    if args.budget_minutes > 0:
        done = run_all(
            rows,
            runs_root,
            args.budget_minutes,
            args.parallel,
            args.set,
            args.threads,
            args.device,
            args.eval_subset,
            args.seeds,
            Path(args.archive) if args.archive else None,
        )
        print("zoo_run: finished " + ", ".join(f"{j.name} (exit {j.proc.returncode})" for j in done), flush=True)
    if args.pack:
        prio = {
            f"{r['name']}_s{s}": r.get("priority", 9)
            for r in load_rows(Path(args.manifest))
            for s in r.get("seeds", [0])
        }
        for part in pack(runs_root, Path(args.pack), prio, args.max_parts):
            print(f"zoo_run: wrote {part} ({part.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
