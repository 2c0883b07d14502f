"""The Ray engine: the same tasks on a Ray cluster (or a local Ray on this machine) with Ray Data.

The task list becomes a dataset (one task per block), ``map_batches`` runs it through an actor pool (one
recogniser per actor, loaded once, one CPU each) and the results stream back in task order to the process that
started the run, which writes the Parquet parts, the journal and the other outputs exactly as the local engine
does: the rows are the same, and ``--resume`` works the same. Every node must read the inputs at the same paths
(shared storage) and have ferkit installed.

Each result is handed on as soon as it and those before it are done: the results are read with
``iter_batches(prefetch_batches=0)``, not ``iter_rows()``, whose read-ahead of one block holds every result back
until the next one has finished too (a whole task later: seconds at the start of a run, and the work a SIGKILL
loses)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator

from ferkit.batch.options import AnalysisOptions
from ferkit.batch.tasks import Task
from ferkit.errors import FerkitError

log = logging.getLogger(__name__)
INSTALL_HINT = "--engine ray needs Ray: pip install 'ferkit[ray]' (Ray Data and pyarrow, pinned)"


def require_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise FerkitError(INSTALL_HINT) from None
    return ray


class RayTaskAnalyser:
    """The actor class of ``map_batches``: one TaskAnalyser per actor; a batch is a column of task JSON strings,
    answered by a column of result JSON strings and a column of the actor's process id (``worker``)."""

    def __init__(self, options: dict):
        from ferkit.batch.worker import TaskAnalyser, single_threaded

        single_threaded()
        self.analyser = TaskAnalyser(AnalysisOptions.from_dict(options))

    def __call__(self, batch: dict) -> dict:
        out = [json.dumps(self.analyser(Task.from_dict(json.loads(t)))) for t in batch["task"]]
        return {"result": out, "worker": [os.getpid()] * len(out)}


def connect(address: str | None, workers: int | None):
    """Join the cluster at ``address`` ("auto": the one started on this machine with ``ray start``), or start
    a local Ray with ``workers`` CPUs (default: the usable cores). Returns the number of CPUs to use."""
    ray = require_ray()
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False, include_dashboard=False)
        else:
            from ferkit.batch.local_pool import usable_cores

            ray.init(num_cpus=workers or usable_cores(), log_to_driver=False, include_dashboard=False)
    return workers or max(1, int(ray.cluster_resources().get("CPU", 1)))


def run_ray(
    tasks: list[Task], options: AnalysisOptions, workers: int | None = None, address: str | None = None
) -> Iterator[dict]:
    """Yield one result per task, in task order, computed by ``workers`` Ray actors."""
    for result, _ in results_with_workers(tasks, options, workers, address):
        yield result


def results_with_workers(
    tasks: list[Task], options: AnalysisOptions, workers: int | None = None, address: str | None = None
) -> Iterator[tuple[dict, int]]:
    """run_ray's results in task order, each with the process id of the actor that computed it."""
    ray = require_ray()
    actors = max(1, min(connect(address, workers), len(tasks)))
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # results come back in task order
    context.enable_progress_bars = False  # ferkit's own bar counts files, faces and frames
    items = [{"task": json.dumps(t.to_dict())} for t in tasks]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(
        RayTaskAnalyser,
        fn_constructor_kwargs={"options": options.to_dict()},
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=1,
        batch_format="numpy",
    )
    for batch in ds.iter_batches(batch_size=None, prefetch_batches=0, batch_format="numpy"):
        for result, worker in zip(batch["result"], batch["worker"]):
            yield json.loads(result), int(worker)
