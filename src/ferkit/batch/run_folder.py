"""The folder of a resumable analysis (``--parquet DIR``, ``ferkit.analyze(out=DIR)``): the Parquet tables, a
manifest ``_run.json`` (options, task list hash, labels) and a journal ``_tasks/<task>.json.gz`` holding each
finished task's whole result. A task counts as finished once its journal entry exists, and that is written
after its Parquet parts; a task cut off anywhere before is simply done again (its parts are replaced, never
added twice). Folders starting with ``_`` are ignored by Parquet dataset readers."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ferkit.batch.parquet_parts import TABLES, require_pyarrow, schemas, write_part, write_result_parts
from ferkit.errors import FerkitError

MANIFEST = "_run.json"
JOURNAL = "_tasks"
INPUTS_PART = "inputs"  # the errors/ part for inputs that were never a task (missing paths)


class RunFolder:
    """Open ``root`` for a run of ``n_tasks`` tasks (``digest``: tasks.tasks_digest) with ``signature``
    (AnalysisOptions.signature) and ``labels``. ``resume``: continue the run found there (same command); without
    it the folder must hold no earlier run."""

    def __init__(self, root: str | Path, signature: dict, digest: str, labels, resume: bool = False):
        require_pyarrow()
        self.root = Path(root)
        self.labels = list(labels)
        if self.root.exists() and not self.root.is_dir():
            raise FerkitError(f"--parquet {root}: is a file; give a folder")
        manifest = {"format": 1, "options": signature, "tasks": digest, "labels": self.labels}
        existing = self._read_manifest()
        if existing is not None and not resume:
            raise FerkitError(f"{self.root} holds an earlier run; add --resume to continue it, or give an empty folder")
        if existing is None and not resume and any((self.root / t).exists() for t in TABLES):
            raise FerkitError(f"{self.root} holds Parquet tables that are not from a ferkit run; give an empty folder")
        if existing is not None and existing != json.loads(json.dumps(manifest)):
            what = [k for k in ("options", "tasks", "labels") if existing.get(k) != manifest.get(k)]
            detail = {
                "options": "different analysis options",
                "tasks": "a different set of inputs",
                "labels": "a model with other labels",
            }
            raise FerkitError(
                f"--resume: {self.root} was written by another command ("
                + ", ".join(detail[w] for w in what)
                + "); run that command, or use a new folder"
            )
        for sub in (*TABLES, JOURNAL):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        if existing is None:
            from ferkit.io_utils import write_json

            write_json(self.root / MANIFEST, manifest)
        self.tables = schemas(self.labels)
        self._done = {p.name.split(".")[0] for p in (self.root / JOURNAL).glob("*.json.gz")}

    def _read_manifest(self) -> dict | None:
        path = self.root / MANIFEST
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except ValueError:
            return None  # cut off while being written: nothing was finished after it

    def is_done(self, task_id: str) -> bool:
        return task_id in self._done

    @property
    def done_count(self) -> int:
        return len(self._done)

    def load(self, task_id: str) -> dict:
        """The stored result of a finished task."""
        with gzip.open(self._journal(task_id), "rt", encoding="utf-8") as f:
            return json.load(f)

    def save(self, result: dict) -> None:
        """Parts first, then the journal entry that marks the task finished (both atomic)."""
        from ferkit.io_utils import atomic_write

        write_result_parts(self.root, result["task"], result, self.tables, self.labels)
        data = gzip.compress(json.dumps(result).encode("utf-8"), compresslevel=3)
        atomic_write(self._journal(result["task"]), lambda tmp: Path(tmp).write_bytes(data))
        self._done.add(result["task"])

    def save_input_errors(self, errors: list[dict]) -> None:
        """Inputs that were never a task (missing paths): the errors part ``inputs``, rewritten each run."""
        write_part(
            self.root / "errors",
            INPUTS_PART,
            [{"path": e["path"], "error": e["error"]} for e in errors],
            self.tables["errors"],
        )

    def _journal(self, task_id: str) -> Path:
        return self.root / JOURNAL / f"{task_id}.json.gz"
