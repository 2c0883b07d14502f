"""The Python API for collections: ``ferkit.analyze`` (into a resumable Parquet dataset) and
``ferkit.analyze_iter`` (results one input at a time, for code that consumes them directly).

    import ferkit
    summary = ferkit.analyze(["photos/", "interviews/"], out="results/", workers=4)
    for item in ferkit.analyze_iter(["photos/"], workers=2):
        print(item["kind"], item["path"], len(item.get("faces", [])))
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ferkit.batch.options import AnalysisOptions
from ferkit.errors import FerkitError


def _plan(paths, model, options: dict):
    """(tasks, input errors, AnalysisOptions) for ``paths`` (a path or a list of paths and folders)."""
    from ferkit.batch.inputs import collect
    from ferkit.batch.tasks import make_tasks
    from ferkit.media.sniff import is_video_file

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files, errors = collect([str(p) for p in paths])
    errors = [e for e in errors if not e["error"].startswith("skipped")]
    if not files and not errors:
        raise FerkitError("nothing to analyse: no image or video among the paths")
    video_keys = ("every_n_frames", "detect_every", "max_frames", "duration")
    video = {k: options.pop(k) for k in video_keys if k in options}
    name = model if isinstance(model, str) or model is None else str(model)
    analysis = AnalysisOptions(recognizer={"model": model, **options}, model_name=name or "ferplus", **video)
    return make_tasks([(f, is_video_file(f)) for f, _ in files]), errors, analysis


def analyze_iter(
    paths,
    *,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    model=None,
    progress: bool | None = False,
    **options,
) -> Iterator[dict]:
    """Analyse images, videos and folders (recursively) on every core (``engine="local"``, ``workers``
    processes, default the usable cores) or on Ray (``engine="ray"``, ``address`` of the cluster, default a
    local Ray). Yields one dict per input, in input order: ``{"kind": "image", "path", "faces", ...}`` (as in
    ``ferkit predict --json``), ``{"kind": "video", "path", "frames", "tracks", ...}``, or
    ``{"kind": "error", "path", "error"}`` for an input that could not be read. ``options``: EmotionRecognizer
    options (``detector``, ``runtime``, ``smoothing``...) and the video options ``every_n_frames``,
    ``detect_every``, ``max_frames``, ``duration``."""
    from ferkit.batch.runner import run_tasks

    tasks, errors, analysis = _plan(paths, model, dict(options))
    for e in errors:
        yield {"kind": "error", **e}
    results = run_tasks(tasks, analysis, engine=engine, workers=workers, address=address, progress=progress)
    for task, result in zip(tasks, results):
        items = {e["path"]: {"kind": "image", **e} for e in result["images"]}
        items.update({e["path"]: {"kind": "video", **e} for e in result["videos"]})
        extra = []  # annotated copies that could not be written: after the task's inputs
        for e in result["errors"]:
            if e["path"] in task.paths and e["path"] not in items:
                items[e["path"]] = {"kind": "error", **e}
            else:
                extra.append({"kind": "error", **e})
        for path in task.paths:
            if path in items:
                yield items[path]
        yield from extra


def analyze(
    paths,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    resume: bool = False,
    model=None,
    progress: bool | None = None,
    **options,
) -> dict:
    """Analyse images, videos and folders into the Parquet dataset ``out`` (``out/faces``, ``out/tracks``,
    ``out/errors``: the tables of ``ferkit predict --parquet``), written as the work completes.
    ``resume=True`` continues an earlier call with the same arguments that was cut off. workers, engine,
    address and options as in ``analyze_iter``. Returns counts: ``files``, ``faces``, ``frames``, ``errors``
    (inputs that failed) and ``out``."""
    from ferkit.batch.run_folder import RunFolder
    from ferkit.batch.runner import run_tasks
    from ferkit.batch.tasks import tasks_digest

    tasks, errors, analysis = _plan(paths, model, dict(options))
    recognizer = analysis.build_recognizer()  # bad options fail here, once; the labels of the tables
    folder = RunFolder(Path(out), analysis.signature(), tasks_digest(tasks), recognizer.labels, resume=resume)
    folder.save_input_errors(errors)
    counts = {"files": 0, "faces": 0, "frames": 0, "errors": len(errors), "out": str(out)}
    for result in run_tasks(
        tasks,
        analysis,
        engine=engine,
        workers=workers,
        address=address,
        folder=folder,
        progress=progress,
        recognizer=recognizer,
    ):
        for key in ("files", "faces", "frames"):
            counts[key] += result[key]
        counts["errors"] += len(result["errors"])
    return counts
