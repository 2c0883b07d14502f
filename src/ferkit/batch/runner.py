"""One analysis run: tasks -> engine (local pool or Ray) -> results in task order, each finished task saved to
the run folder (when there is one) before it is handed on, finished tasks of a resumed run read back instead
of analysed again, and one progress bar for the whole collection (files/s, faces/s, frames/s, ETA)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

from ferkit.batch.options import AnalysisOptions
from ferkit.batch.tasks import Task
from ferkit.errors import FerkitError

ENGINES = ("local", "ray")


def run_tasks(
    tasks: list[Task],
    options: AnalysisOptions,
    *,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    folder=None,
    progress: bool | None = None,
    recognizer=None,
) -> Iterator[dict]:
    """Yield each task's result (worker.py) in task order. folder: a RunFolder (finished tasks are read from
    it, new ones saved to it); workers: processes or Ray actors (default: the usable cores, or the cluster's
    CPUs with a Ray address); progress: show the bar (default: on a terminal, or for more than 20 files);
    recognizer: one built from ``options`` already, used where the work runs in this process."""
    if engine not in ENGINES:
        raise FerkitError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise FerkitError(f"workers must be >= 1, not {workers}")
    pending = [t for t in tasks if folder is None or not folder.is_done(t.id)]
    pending_ids = {t.id for t in pending}
    results = _engine(engine, pending, options, workers, address, recognizer) if pending else iter(())
    n_files = sum(len(t.paths) for t in tasks)
    done_files = n_files - sum(len(t.paths) for t in pending)
    show = progress if progress is not None else (sys.stderr.isatty() and n_files > 1) or n_files > 20
    bar = _Progress(n_files, done_files, show)
    try:
        for task in tasks:
            if task.id not in pending_ids:
                yield folder.load(task.id)
                continue
            result = next(results)
            if result["task"] != task.id:  # engines keep the order; anything else would mix up rows
                raise FerkitError(f"internal error: result of task {result['task']} where {task.id} was expected")
            if folder is not None:
                folder.save(result)
            bar.add(result)
            yield result
    finally:
        bar.close()
        close = getattr(results, "close", None)
        if close is not None:
            close()


def _engine(
    engine: str,
    pending: list[Task],
    options: AnalysisOptions,
    workers: int | None,
    address: str | None,
    recognizer=None,
) -> Iterator[dict]:
    if engine == "ray":
        from ferkit.batch.ray_engine import run_ray

        return run_ray(pending, options, workers=workers, address=address)
    if address:
        raise FerkitError("--address is for --engine ray (the address of a Ray cluster)")
    from ferkit.batch.local_pool import run_local, usable_cores

    return run_local(iter(pending), len(pending), options, workers or usable_cores(), recognizer)


class _Progress:
    """tqdm over files, with faces/s and frames/s of this run in its postfix."""

    def __init__(self, total: int, initial: int, show: bool):
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=initial, unit="file", desc="predict", disable=not show, dynamic_ncols=True)
        self.t0 = time.perf_counter()
        self.faces = self.frames = 0

    def add(self, result: dict) -> None:
        self.faces += result.get("faces", 0)
        self.frames += result.get("frames", 0)
        elapsed = max(1e-9, time.perf_counter() - self.t0)
        self.bar.set_postfix_str(
            f"{self.faces / elapsed:.1f} faces/s, {self.frames / elapsed:.1f} frames/s", refresh=False
        )
        self.bar.update(result.get("files", 0))

    def close(self) -> None:
        self.bar.close()
