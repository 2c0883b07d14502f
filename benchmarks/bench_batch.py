"""Scaling of collection analysis (``ferkit predict --workers / --engine``); prints a Markdown table.

    python benchmarks/bench_batch.py [--photos 2000] [--videos 20] [--rss-sizes 1000,20000] [--model ferplus]

Generates a collection from the sample photos and video under $FERKIT_DATA/samples (photos repeated under new
names, videos cut from video_01.mp4 at 320x240) and analyses it into a Parquet folder with

- the local pool with 1 worker and with every usable core, and
- Ray on this machine (a local Ray with as many CPUs) with every core,

reporting wall time, the start-up (until the first task's result: process spawn or Ray actors, model
loading), and the steady rate after it: files/s, faces/s and analysed frames/s, and its speed-up over one
worker; and the CPU seconds every process of the run used (this one and all under it: pool workers, and Ray's
own processes when Ray is started here), split into the workers that analyse, this process (the driver: planning,
writing, Ray Data's scheduler) and the rest of Ray (GCS, raylet, agents, Ray Data's helper actors). CPU seconds
depend much less than rates on what else runs on the machine. Then resident memory: ``ferkit predict --parquet --csv``
over N tiny face crops (``--detector none``, every core), peak RSS of the main process and of all processes
together, for each N of ``--rss-sizes``: the growth between the sizes shows whether anything is held per input.
Other processes on the machine slow every number down; run it on an idle machine for figures to quote.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def data_root() -> Path:
    return Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def make_collection(folder: Path, photos: int, videos: int, frames: int = 30) -> Path:
    """``photos`` links to the sample photos (cycled, new names) and ``videos`` short clips of ``frames``
    frames each, cut from video_01.mp4 at successive offsets."""
    import cv2

    samples = data_root() / "samples"
    sources = sorted(p for p in (samples / "images").iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    (folder / "photos").mkdir(parents=True)
    for i in range(photos):
        src = sources[i % len(sources)]
        (folder / "photos" / f"{i:06d}{src.suffix.lower()}").symlink_to(src)
    (folder / "videos").mkdir()
    cap = cv2.VideoCapture(str(samples / "video" / "video_01.mp4"))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    for v in range(videos):
        cap.set(cv2.CAP_PROP_POS_FRAMES, (v * frames) % max(1, total - frames))
        out = cv2.VideoWriter(
            str(folder / "videos" / f"clip{v:03d}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240)
        )
        for _ in range(frames):
            ok, frame = cap.read()
            if not ok:
                break
            out.write(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA))
        out.release()
    cap.release()
    return folder


def make_crops(folder: Path, n: int) -> Path:
    """``n`` tiny face-sized images (96x96 PNG; 16 distinct ones, linked under new names)."""
    import numpy as np
    from PIL import Image

    base = folder / "_distinct"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    distinct = []
    for i in range(16):
        path = base / f"c{i}.png"
        Image.fromarray(rng.integers(0, 256, (96, 96), dtype=np.uint8)).save(path)
        distinct.append(path)
    crops = folder / "crops"
    crops.mkdir()
    for i in range(n):
        (crops / f"{i:06d}.png").symlink_to(distinct[i % 16])
    return crops


class CpuMeter:
    """CPU seconds (user + system) used since ``start`` by this process and every process under it, by kind
    (``workers``: pool processes and Ray's analysis actors; ``driver``: this process; ``other``: the rest, Ray's
    own processes), from
    psutil samples every ``interval`` s (a process that ends between two samples loses at most its last
    interval)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.me = psutil.Process()
        self.interval = interval
        self.base: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _kind(self, proc) -> str:
        if proc.pid == self.me.pid:
            return "driver"
        name = " ".join([proc.name(), *proc.cmdline()[:4]])
        if "MapWorker" in name or "spawn_main" in name:
            return "workers"
        return "other"

    def _sample(self) -> None:
        import psutil

        for proc in [self.me, *self.me.children(recursive=True)]:
            try:
                cpu = sum(proc.cpu_times()[:2])
                kind = self._kind(proc)
            except psutil.Error:
                continue
            previous = self.last.get(proc.pid, ("other", 0.0))[0]  # a Ray worker starts idle, then is an actor
            self.last[proc.pid] = (kind if previous == "other" else previous, cpu)

    def start(self) -> None:
        self._sample()
        self.base = {pid: cpu for pid, (_, cpu) in self.last.items()}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def stop(self) -> dict:
        """{kind: CPU seconds since start} (kinds with none are 0)."""
        self._stop.set()
        self._thread.join()
        self._sample()
        out = {"workers": 0.0, "driver": 0.0, "other": 0.0}
        for pid, (kind, cpu) in self.last.items():
            out[kind] += cpu - self.base.get(pid, 0.0)
        return {k: round(v, 1) for k, v in out.items()}


def throughput(collection: Path, out: Path, model: str, engine: str, workers: int) -> dict:
    """One analysis of ``collection`` into ``out``: wall time from the call to the last result, the start-up
    (until the first task's result: process spawn or Ray actors, model loading, that task) and the steady
    rate after it (files, faces and frames from the second result on, over the time since the first)."""
    from ferkit.batch.api import _plan
    from ferkit.batch.run_folder import RunFolder
    from ferkit.batch.runner import run_tasks
    from ferkit.batch.tasks import tasks_digest

    meter = CpuMeter()
    meter.start()
    t0 = time.perf_counter()
    tasks, _, analysis = _plan([collection], model, {})
    recognizer = analysis.build_recognizer()
    folder = RunFolder(out, analysis.signature(), tasks_digest(tasks), recognizer.labels)
    totals = {"files": 0, "faces": 0, "frames": 0}
    first, after_first = None, None
    for result in run_tasks(
        tasks, analysis, engine=engine, workers=workers, folder=folder, progress=False, recognizer=recognizer
    ):
        if first is None:
            first, after_first = time.perf_counter(), dict.fromkeys(totals, 0)
        else:
            for k in totals:
                after_first[k] += result[k]
        for k in totals:
            totals[k] += result[k]
    end = time.perf_counter()
    cpu = meter.stop()
    steady = max(1e-9, end - first)
    return {
        "engine": engine,
        "workers": workers,
        "wall_s": round(end - t0, 2),
        "startup_s": round(first - t0, 2),
        **totals,
        "files_per_s": round(totals["files"] / (end - t0), 2),
        "steady_files_per_s": round(after_first["files"] / steady, 2),
        "steady_faces_per_s": round(after_first["faces"] / steady, 2),
        "steady_frames_per_s": round(after_first["frames"] / steady, 2),
        "cpu_s": cpu,
    }


def peak_rss(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``; peak RSS (MiB) of its main process and of it with all its children, sampled every 0.1 s."""
    import psutil

    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    main = psutil.Process(proc.pid)
    peak = {"main_mib": 0.0, "all_mib": 0.0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                rss = main.memory_info().rss
                kids = sum(c.memory_info().rss for c in main.children(recursive=True))
            except psutil.Error:
                break
            peak["main_mib"] = max(peak["main_mib"], rss / 2**20)
            peak["all_mib"] = max(peak["all_mib"], (rss + kids) / 2**20)
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    _, err = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return {k: round(v, 1) for k, v in peak.items()} | {"wall_s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=2000)
    ap.add_argument("--videos", type=int, default=20)
    ap.add_argument("--frames", type=int, default=30, help="frames per generated video")
    ap.add_argument("--rss-sizes", default="1000,20000", help="collection sizes for the memory runs ('' skips)")
    ap.add_argument("--model", default="ferplus")
    ap.add_argument("--workers", type=int, default=None, help="'every core' (default: the usable cores)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray runs")
    ap.add_argument("--json", default=None, help="also write the measurements here")
    args = ap.parse_args()
    from ferkit.batch.local_pool import usable_cores

    cores = args.workers or usable_cores()
    work = Path(tempfile.mkdtemp(prefix="ferkit-bench-batch-"))
    rows, memory = [], []
    try:
        collection = make_collection(work / "collection", args.photos, args.videos, args.frames)
        rows.append(throughput(collection, work / "local1", args.model, "local", 1))
        rows.append(throughput(collection, work / f"local{cores}", args.model, "local", cores))
        if not args.no_ray:
            import ray

            meter = CpuMeter()
            meter.start()
            t0 = time.perf_counter()
            ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
            ray_start = time.perf_counter() - t0
            init_cpu = meter.stop()
            rows.append(
                throughput(collection, work / "ray", args.model, "ray", cores)
                | {"ray_init_s": round(ray_start, 1), "ray_init_cpu_s": round(sum(init_cpu.values()), 1)}
            )
            ray.shutdown()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
        for n in [int(x) for x in args.rss_sizes.split(",") if x.strip()]:
            crops = make_crops(work / f"rss{n}", n)
            cmd = [
                sys.executable,
                "-m",
                "ferkit.cli.main",
                "predict",
                str(crops),
                "--model",
                args.model,
                "--detector",
                "none",
                "--workers",
                str(cores),
                "--parquet",
                str(work / f"rss{n}" / "pq"),
                "--csv",
                str(work / f"rss{n}" / "rows.csv"),
                "-q",
            ]
            memory.append({"inputs": n, **peak_rss(cmd, env)})
    finally:
        shutil.rmtree(work, ignore_errors=True)

    one = rows[0]["steady_files_per_s"]
    print(
        f"collection: {args.photos} photos + {args.videos} videos of {args.frames} frames (320x240); "
        f"model {args.model}; {usable_cores()} usable cores\n"
    )
    print(
        "| engine | workers | wall s | start-up s | files/s (wall) | files/s (steady) | faces/s (steady) | "
        "frames/s (steady) | steady speed-up vs 1 worker | CPU s workers / driver / other (Ray's own) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c = r["cpu_s"]
        print(
            f"| {r['engine']} | {r['workers']} | {r['wall_s']} | {r['startup_s']} | {r['files_per_s']} | "
            f"{r['steady_files_per_s']} | {r['steady_faces_per_s']} | {r['steady_frames_per_s']} | "
            f"{r['steady_files_per_s'] / one:.2f}x | {c['workers']} / {c['driver']} / {c['other']} |"
        )
    init = next((r for r in rows if "ray_init_s" in r), None)
    if init:
        print(f"\n(Ray start-up, not counted above: {init['ray_init_s']} s, {init['ray_init_cpu_s']} CPU s)")
    if memory:
        print("\n| inputs (96x96 crops, --detector none) | wall s | peak RSS main MiB | peak RSS all processes MiB |")
        print("|---|---|---|---|")
        for m in memory:
            print(f"| {m['inputs']} | {m['wall_s']} | {m['main_mib']} | {m['all_mib']} |")
        if len(memory) > 1:
            print(
                f"\nRSS growth {memory[0]['inputs']} -> {memory[-1]['inputs']} inputs: main "
                f"{memory[-1]['main_mib'] - memory[0]['main_mib']:+.1f} MiB, all processes "
                f"{memory[-1]['all_mib'] - memory[0]['all_mib']:+.1f} MiB"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"throughput": rows, "memory": memory, "cores": cores}, indent=2))


if __name__ == "__main__":
    main()
