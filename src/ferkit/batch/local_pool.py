"""The local engine: tasks over a pool of worker processes on this machine, results in task order.

Each process is single-threaded and loads the recogniser once (worker.init_process). At most
``2 x workers`` tasks are in flight, so memory does not grow with the collection. A single worker, or a single
task, runs in the calling process (no start-up cost)."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator

from ferkit.batch.options import AnalysisOptions
from ferkit.batch.tasks import Task
from ferkit.errors import FerkitError


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def run_local(
    tasks: Iterable[Task], n_tasks: int, options: AnalysisOptions, workers: int, recognizer=None
) -> Iterator[dict]:
    """Yield one result per task, in the order of ``tasks`` (see worker.py for the result). recognizer: one
    built from ``options``, used when the work runs in this process."""
    workers = max(1, min(int(workers), n_tasks))
    if workers == 1:
        yield from _in_process(tasks, options, recognizer)
        return
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from ferkit.batch.worker import init_process, run_in_process

    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited threads or locks
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=init_process, initargs=(options.to_dict(),))
    pending: deque = deque()
    try:
        for task in tasks:
            pending.append(pool.submit(run_in_process, task.to_dict()))
            while len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    except BrokenProcessPool:
        raise FerkitError(
            "a worker process died (out of memory, or a crash in a decoder); the finished work is "
            "kept where --parquet was given: run the same command with --resume"
        ) from None
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _in_process(tasks: Iterable[Task], options: AnalysisOptions, recognizer=None) -> Iterator[dict]:
    from ferkit.batch.worker import TaskAnalyser, one_thread

    analyser = None
    for task in tasks:
        with one_thread():  # the same arithmetic as a pool process, so the rows do not depend on workers
            analyser = analyser or TaskAnalyser(options, recognizer)
            result = analyser(task)
        yield result
