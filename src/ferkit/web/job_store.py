"""The video jobs of ``ferkit serve`` in an embedded SQLite database (``--state-dir``), so that a restart, even
after SIGKILL, loses nothing: a finished job is still served with its result, and a job that was queued or
running when the server stopped is reported ``interrupted`` (never a 404).

Each change of a job's state is one committed transaction (write-ahead log), so a killed process leaves the
database as of its last change. One server per state folder: a second one is refused (a lock on the folder)."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

from ferkit.errors import FerkitError

log = logging.getLogger(__name__)
DB_NAME = "jobs.sqlite3"
INTERRUPTED = {"error": "interrupted", "detail": "the server stopped before this job finished; submit the video again"}
_COLUMNS = (
    "id",
    "status",
    "created",
    "started",
    "finished",
    "every_n_frames",
    "frames_total",
    "frames_done",
    "client",
    "result",
    "error",
)


class JobStore:
    """folder: where the database lives (created if needed); None keeps the jobs in memory only."""

    def __init__(self, folder: str | os.PathLike | None = None):
        self.folder = Path(folder) if folder is not None else None
        self._lock = threading.Lock()
        self._lock_file = None
        self._closed = False
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise FerkitError(f"--state-dir {self.folder}: cannot create it ({e.strerror or e})") from None
            self._lock_file = _lock_folder(self.folder)
        target = str(self.folder / DB_NAME) if self.folder is not None else ":memory:"
        try:
            self.db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, "
                "created REAL, started REAL, finished REAL, every_n_frames INTEGER, "
                "frames_total INTEGER, frames_done INTEGER, client TEXT, result TEXT, error TEXT)"
            )
        except sqlite3.Error as e:
            raise FerkitError(f"--state-dir {self.folder}: the job database cannot be opened ({e})") from None

    def interrupt_unfinished(self) -> int:
        """Mark the jobs left queued or running as ``interrupted`` (at start: by an earlier server; at shutdown:
        by this one); returns how many."""
        with self._lock:
            if self._closed:
                return 0
            cur = self.db.execute(
                "UPDATE jobs SET status='interrupted', finished=?, error=? WHERE status IN ('queued', 'running')",
                (time.time(), json.dumps(INTERRUPTED)),
            )
        if cur.rowcount:
            log.warning("%d video job(s) cut off by a shutdown: reported as interrupted", cur.rowcount)
        return cur.rowcount

    def put(self, job) -> None:
        """Insert or update a job (a jobs.Job) with its current state, result and error."""
        row = (
            job.id,
            job.status,
            job.created,
            job.started,
            job.finished,
            job.every_n_frames,
            job.frames_total,
            job.frames_done,
            job.client,
            _dumps(job.result),
            _dumps(job.error),
        )
        with self._lock:
            if self._closed:  # a job thread finishing after shutdown: the job stays interrupted
                return
            self.db.execute(
                f"INSERT OR REPLACE INTO jobs ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})", row
            )

    def get(self, job_id: str) -> dict | None:
        """The stored job as a dict of its columns (result and error decoded), or None."""
        with self._lock:
            if self._closed:
                return None
            row = self.db.execute(f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            return None
        out = dict(zip(_COLUMNS, row))
        out["result"] = json.loads(out["result"]) if out["result"] else None
        out["error"] = json.loads(out["error"]) if out["error"] else None
        return out

    def purge(self, cutoff: float, keep: int) -> None:
        """Forget finished jobs that finished before ``cutoff``, then all but the newest ``keep`` finished ones."""
        finished = "status NOT IN ('queued', 'running')"
        with self._lock:
            if self._closed:
                return
            self.db.execute(f"DELETE FROM jobs WHERE {finished} AND finished < ?", (cutoff,))
            self.db.execute(
                f"DELETE FROM jobs WHERE {finished} AND id NOT IN (SELECT id FROM jobs WHERE "
                f"{finished} ORDER BY finished DESC LIMIT ?)",
                (keep,),
            )

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.db.close()
        if self._lock_file is not None:
            self._lock_file.close()


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value)


def _lock_folder(folder: Path):
    """Hold an exclusive lock on ``folder/lock`` for the life of the server (released by the OS if it dies)."""
    handle = open(folder / "lock", "a")  # noqa: SIM115 (held open while the server runs: that is the lock)
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; one server per folder is then the user's care
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise FerkitError(
            f"--state-dir {folder}: another ferkit serve uses this folder; stop it or give another --state-dir"
        ) from None
    return handle


def default_state_dir(port: int) -> Path:
    """The default ``--state-dir``: ``serve-<port>`` in ferkit's cache folder ($FERKIT_CACHE or
    ~/.cache/ferkit), so a server restarted on its port finds its jobs."""
    from ferkit.settings import cache_dir

    return cache_dir() / f"serve-{port}"
