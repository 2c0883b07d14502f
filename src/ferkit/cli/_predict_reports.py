"""The report files of ``ferkit predict`` written as the results come (``--csv``, ``--json``; ``--jsonl`` is
_predict_video.JsonlWriter): rows go to temporary spool files, never into memory, and the report is put
together and moved into place atomically at the end, with the same text a whole-document write gives (images
first, then videos)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

from ferkit.inference.report import csv_header, face_rows, track_rows, tracks_csv_header, tracks_csv_path
from ferkit.io_utils import open_output


def _spool():
    return tempfile.TemporaryFile("w+", encoding="utf-8", newline="")


class CsvReport:
    """``--csv FILE``: rows of each result as it comes; ``finish()`` writes FILE (and FILE_tracks.csv when there
    were videos), ``close()`` drops the spools."""

    def __init__(self, path: str, labels):
        self.path, self.labels = path, list(labels)
        self.parts = {"images": _spool(), "videos": _spool(), "tracks": _spool()}
        self.writers = {k: csv.writer(f) for k, f in self.parts.items()}
        self.videos = 0

    def add(self, result: dict) -> None:
        self.writers["images"].writerows(face_rows({"images": result.get("images", [])}, self.labels))
        self.writers["videos"].writerows(face_rows({"videos": result.get("videos", [])}, self.labels))
        self.writers["tracks"].writerows(track_rows(result, self.labels))
        self.videos += len(result.get("videos", []))

    def finish(self) -> None:
        _assemble(self.path, _csv_line(csv_header(self.labels)), [self.parts["images"], self.parts["videos"]])
        if self.videos:
            _assemble(tracks_csv_path(self.path), _csv_line(tracks_csv_header(self.labels)), [self.parts["tracks"]])

    def close(self) -> None:
        for f in self.parts.values():
            f.close()


class JsonReport:
    """``--json FILE``: the document {model, detector, labels, images, videos, errors, skipped} of
    report.write_results_json, with the entries spooled as they come."""

    def __init__(self, path: str, head: dict):
        self.path, self.head = path, head
        self.parts = {"images": _spool(), "videos": _spool()}
        self.counts = {"images": 0, "videos": 0}

    def add(self, result: dict) -> None:
        for key in ("images", "videos"):
            for entry in result.get(key, []):
                text = json.dumps(entry, indent=2).replace("\n", "\n    ")
                self.parts[key].write((",\n" if self.counts[key] else "") + "    " + text)
                self.counts[key] += 1

    def finish(self, tail: dict) -> None:
        """tail: the keys after the entries (errors, skipped), in order."""

        def scalar(value) -> str:
            return json.dumps(value, indent=2).replace("\n", "\n  ")

        with open_output(self.path) as out:
            out.write("{\n")
            fields = [f'  "{k}": {scalar(v)}' for k, v in self.head.items()]
            out.write(",\n".join(fields))
            for key in ("images", "videos"):
                out.write(f',\n  "{key}": ')
                if not self.counts[key]:
                    out.write("[]")
                    continue
                out.write("[\n")
                self.parts[key].seek(0)
                shutil.copyfileobj(self.parts[key], out)
                out.write("\n  ]")
            for k, v in tail.items():
                out.write(f',\n  "{k}": {scalar(v)}')
            out.write("\n}\n")

    def close(self) -> None:
        for f in self.parts.values():
            f.close()


def _csv_line(row) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    return buf.getvalue()


def _assemble(path: str | Path, header: str, parts) -> None:
    with open_output(path) as out:
        out.write(header)
        for part in parts:
            part.seek(0)
            shutil.copyfileobj(part, out)
