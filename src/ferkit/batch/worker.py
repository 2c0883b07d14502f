"""One worker of an analysis run: loads the recogniser once, single-threaded, then turns tasks into results.

A result is a plain JSON-able dict: ``task`` (its id), ``images`` and ``videos`` (the JSON entries of
report.image_entry / report.video_entry), ``errors`` ({path, error} per input that failed, or output that could
not be written) and counts (``files``, ``faces``, ``frames``) for the progress bar."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ferkit.batch.options import AnalysisOptions
from ferkit.batch.tasks import Task
from ferkit.errors import FerkitError

log = logging.getLogger(__name__)
_WORKER: TaskAnalyser | None = None  # the analyser of this worker process (set by init_process)


def single_threaded() -> None:
    """Limit this process to one thread of math (torch, OpenCV, OpenMP): the workers are the parallelism."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def exit_with_parent(poll_s: float = 1.0) -> None:
    """End this worker process when the process that started it is gone (killed, even by SIGKILL), instead of
    being left behind: a daemon thread watches the parent's id."""
    import threading

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(1)

    threading.Thread(target=watch, name="ferkit-parent-watch", daemon=True).start()


@contextmanager
def one_thread():
    """Single-threaded math for the duration (for work done in the caller's own process); restored after."""
    import cv2
    import torch

    before = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])


class TaskAnalyser:
    """Holds one recogniser (loaded once) and analyses tasks with it: ``analyser(task) -> result``.
    frames: where each analysed video frame also goes as it comes (an object with ``write(dict)``, as the
    JSON-lines writer of ``ferkit predict``; the server's video jobs report their progress with it), or None."""

    def __init__(self, options: AnalysisOptions, recognizer=None, frames=None):
        self.options = options
        self.recognizer = recognizer if recognizer is not None else options.build_recognizer()
        self.frames = frames

    def __call__(self, task: Task) -> dict:
        from ferkit.batch.analyse import analyse_image, analyse_video

        result = {
            "task": task.id,
            "images": [],
            "videos": [],
            "errors": [],
            "files": len(task.paths),
            "faces": 0,
            "frames": 0,
        }
        for path, target in zip(task.paths, task.annotated):
            target = Path(target) if target else None
            try:
                if task.kind == "video":
                    entry = analyse_video(self.recognizer, path, target, self.options, self.frames, result["errors"])
                    entry["path"] = str(path)
                    result["videos"].append(entry)
                    result["frames"] += entry["frames_analysed"]
                    result["faces"] += sum(len(f["faces"]) for f in entry["frames"])
                else:
                    entry = analyse_image(self.recognizer, Path(path), target, self.options.bars, result["errors"])
                    result["images"].append(entry)
                    result["faces"] += len(entry["faces"])
            except FerkitError as e:
                result["errors"].append({"path": str(path), "error": str(e)})
                log.warning("%s", e)
            except Exception as e:  # a decoder bug on one odd file must not end a run of thousands
                log.exception("%s: analysis failed", path)
                result["errors"].append({"path": str(path), "error": f"{path}: {type(e).__name__}: {e}"})
        return result


def init_process(options_dict: dict) -> None:
    """Initializer of a pool process: one thread, one recogniser for its lifetime."""
    global _WORKER
    exit_with_parent()
    single_threaded()
    logging.getLogger("ferkit").setLevel(logging.ERROR)  # per-input failures are reported by the parent
    _WORKER = TaskAnalyser(AnalysisOptions.from_dict(options_dict))


def run_in_process(task_dict: dict) -> dict:
    """Analyse one task in a pool process (after init_process)."""
    return _WORKER(Task.from_dict(task_dict))
