"""The server's video jobs on the batch engine: a job is one batch task (``ferkit.batch.tasks``) analysed by the
same worker code as ``ferkit predict`` (``batch.worker.TaskAnalyser``), so a job's frames and tracks are the
rows ``ferkit predict`` gives for that video with the same options.

``engine="local"``: a pool of ``workers`` processes owned by the server, each single-threaded with its own
recogniser (loaded once, one more per face detector a request names); progress comes back frame by frame
and a cancelled job stops at its next frame. ``engine="ray"``: each job runs through ``batch.ray_engine`` on
the cluster at ``address`` (default: a local Ray with ``workers`` CPUs); its progress is known when it ends and
a cancelled job's result is dropped."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from ferkit.batch.options import AnalysisOptions
from ferkit.errors import FerkitError

log = logging.getLogger(__name__)
ENGINES = ("local", "ray")
_PROCESS: dict = {}  # in a pool process: base options, recognisers by detector, progress queue, cancel folder


class JobCancelled(FerkitError):
    """Raised in a worker when the job it analyses was cancelled, or the server stops."""


class JobEngine:
    """Runs video jobs as batch tasks. options: the recogniser and video options of the server (every job may
    change ``every_n_frames`` and the detector); engine: "local" or "ray"; workers: processes (local) or
    Ray actors at once; address: the Ray cluster (engine "ray" only)."""

    def __init__(self, options: AnalysisOptions, engine: str = "local", workers: int = 1, address: str | None = None):
        if engine not in ENGINES:
            raise FerkitError(f"unknown engine {engine!r}; choose from {', '.join(ENGINES)}")
        if workers < 1:
            raise FerkitError(f"--video-workers must be >= 1, not {workers}")
        if address and engine != "ray":
            raise FerkitError("--address is for --engine ray (the address of a Ray cluster)")
        self.options, self.engine, self.workers, self.address = options, engine, int(workers), address
        self._jobs: dict = {}  # job id -> Job, for the progress reports of the pool
        self._pool = self._queue = self._drain = None
        self._cancel_dir = Path(tempfile.mkdtemp(prefix="ferkit-jobs-"))
        if engine == "ray":
            from ferkit.batch.ray_engine import require_ray

            require_ray()  # a missing Ray is said at start, not at the first job

    def run(self, job) -> dict:
        """Analyse ``job`` (jobs.Job: path, every_n_frames, detector_name, cancel) and return the result of its
        batch task (worker.py: ``videos``, ``errors``...). ``job.frames_done`` follows the progress."""
        from ferkit.batch.tasks import make_tasks

        task = make_tasks([(Path(job.path), True)])[0]
        options = _job_options(self.options, job.every_n_frames, job.detector_name)
        if self.engine == "ray":
            from ferkit.batch.ray_engine import run_ray

            results = run_ray([task], options, workers=self.workers, address=self.address)
            try:
                return next(iter(results))
            finally:
                getattr(results, "close", lambda: None)()
        from concurrent.futures import TimeoutError as FutureTimeout

        pool = self._start_pool()
        self._jobs[job.id] = job
        try:
            future = pool.submit(run_job, job.id, task.to_dict(), options.to_dict())
            while True:
                try:
                    return future.result(timeout=0.2)
                except FutureTimeout:
                    if job.cancel.is_set():
                        with contextlib.suppress(OSError):  # no folder: the engine is closed, all stop
                            (self._cancel_dir / job.id).touch()
        except Exception as e:
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(e, BrokenProcessPool):
                self._pool = None  # the next job starts a fresh pool
                raise FerkitError(
                    "the worker process analysing this video died (out of memory, or a crash in its decoder)"
                ) from None
            raise
        finally:
            self._jobs.pop(job.id, None)
            with contextlib.suppress(OSError):
                (self._cancel_dir / job.id).unlink(missing_ok=True)

    def _start_pool(self):
        if self._pool is None:
            from concurrent.futures import ProcessPoolExecutor

            context = multiprocessing.get_context("spawn")  # a fresh interpreter: no server threads inherited
            self._queue = context.SimpleQueue() if self._queue is None else self._queue
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=init_process,
                initargs=(self.options.to_dict(), self._queue, str(self._cancel_dir)),
            )
            if self._drain is None:
                self._drain = threading.Thread(target=self._progress, name="ferkit-job-progress", daemon=True)
                self._drain.start()
        return self._pool

    def _progress(self) -> None:
        """Move the frame counts the workers report onto their jobs, until close()."""
        while True:
            try:
                item = self._queue.get()
            except (EOFError, OSError, queue.Empty):
                return
            if item is None:
                return
            job = self._jobs.get(item[0])
            if job is not None:
                job.frames_done = min(job.frames_total, item[1])

    def close(self) -> None:
        """Stop: the jobs running in the pool stop at their next frame (their cancel folder goes away)."""
        shutil.rmtree(self._cancel_dir, ignore_errors=True)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._drain is not None:
            self._queue.put(None)


def _job_options(base: AnalysisOptions, every_n_frames: int, detector: str | None) -> AnalysisOptions:
    recognizer = dict(base.recognizer)
    if detector:
        recognizer["detector"] = detector
    return replace(base, recognizer=recognizer, every_n_frames=int(every_n_frames))


class _Progress:
    """The frame sink of a job in a pool process: reports each analysed frame, stops a cancelled job."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.cancelled = Path(_PROCESS["cancel_dir"]) / job_id

    def write(self, frame: dict) -> None:
        if self.cancelled.exists() or not self.cancelled.parent.exists():
            raise JobCancelled("the job was cancelled")
        _PROCESS["queue"].put((self.job_id, int(frame["frame"]) + 1))


def init_process(options_dict: dict, progress, cancel_dir: str) -> None:
    """Initializer of a pool process: one thread, the server's recogniser loaded once."""
    from ferkit.batch.worker import exit_with_parent, single_threaded

    exit_with_parent()
    single_threaded()
    logging.getLogger("ferkit").setLevel(logging.ERROR)  # a job's failure is reported by the server
    options = AnalysisOptions.from_dict(options_dict)
    _PROCESS.update(queue=progress, cancel_dir=cancel_dir, recognizers={})
    _recognizer(options)


def _recognizer(options: AnalysisOptions):
    """The recogniser of ``options`` in this process, built once per set of recogniser options."""
    key = repr(sorted(options.recognizer.items()))
    cache = _PROCESS["recognizers"]
    if key not in cache:
        cache[key] = options.build_recognizer()
    return cache[key]


def run_job(job_id: str, task_dict: dict, options_dict: dict) -> dict:
    """Analyse one job's task in a pool process (after init_process): the worker code of ``ferkit predict``."""
    from ferkit.batch.tasks import Task
    from ferkit.batch.worker import TaskAnalyser

    options = AnalysisOptions.from_dict(options_dict)
    analyser = TaskAnalyser(options, _recognizer(options), frames=_Progress(job_id))
    return analyser(Task.from_dict(task_dict))
