"""The units of work of a collection: each video is one task (tracking needs its frames in order), photos go in
batches of ``photos_per_task``. A task's id is a hash of its kind and input paths, so the same command over the
same collection makes the same tasks, which is what lets a killed run resume."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

PHOTOS_PER_TASK = 16


@dataclass(frozen=True)
class Task:
    """kind: "video" (one path) or "images" (one or more). annotated: the annotated output of each path (None:
    not drawn), in the same order."""

    id: str
    kind: str
    paths: tuple[str, ...]
    annotated: tuple[str | None, ...]

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "paths": list(self.paths), "annotated": list(self.annotated)}

    @classmethod
    def from_dict(cls, d: dict) -> Task:
        return cls(d["id"], d["kind"], tuple(d["paths"]), tuple(d["annotated"]))


def task_id(kind: str, paths) -> str:
    digest = hashlib.sha1("\0".join([kind, *map(str, paths)]).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:20]


def make_tasks(
    files: list[tuple[Path, bool]], annotated: list[Path | None] | None = None, photos_per_task: int = PHOTOS_PER_TASK
) -> list[Task]:
    """Tasks in input order from (path, is video) pairs: a video alone, consecutive photos together (at most
    ``photos_per_task``). ``annotated``: each input's annotated output (default none)."""
    annotated = annotated if annotated is not None else [None] * len(files)
    tasks: list[Task] = []
    batch: list[tuple[str, str | None]] = []

    def flush():
        if batch:
            paths = tuple(p for p, _ in batch)
            tasks.append(Task(task_id("images", paths), "images", paths, tuple(a for _, a in batch)))
            batch.clear()

    for (path, video), target in zip(files, annotated):
        target = None if target is None else str(target)
        if video:
            flush()
            tasks.append(Task(task_id("video", [path]), "video", (str(path),), (target,)))
        else:
            batch.append((str(path), target))
            if len(batch) >= max(1, photos_per_task):
                flush()
    flush()
    return tasks


def tasks_digest(tasks: list[Task]) -> str:
    """One hash of the whole task list (which inputs, how grouped): a resumed run must have the same."""
    h = hashlib.sha1()
    for t in tasks:
        h.update(t.id.encode())
    return h.hexdigest()
