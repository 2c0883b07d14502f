"""Parquet parts of an analysis: ``faces/`` (the columns of ``--csv``), ``tracks/`` (the columns of
``_tracks.csv``) and ``errors/`` (path, error). One part per task, written atomically (a temporary file renamed
into place), so a reader never sees a half-written part and a task written twice replaces its own part.

    import pyarrow.dataset as ds
    faces = ds.dataset("results/faces").to_table().to_pandas()
"""

from __future__ import annotations

from pathlib import Path

from ferkit.errors import FerkitError
from ferkit.inference.report import CSV_FIXED, TRACK_CSV_FIXED

INSTALL_HINT = "Parquet output needs pyarrow: pip install 'ferkit[parquet]' (or 'ferkit[ray]')"
TABLES = ("faces", "tracks", "errors")


def require_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise FerkitError(INSTALL_HINT) from None
    return pyarrow


def schemas(labels) -> dict:
    """The Arrow schema of each table for a model with these labels."""
    pa = require_pyarrow()
    kinds = {
        "path": pa.string(),
        "frame": pa.int64(),
        "time": pa.float64(),
        "face": pa.int64(),
        "track_id": pa.int64(),
        "label": pa.string(),
        "first_frame": pa.int64(),
        "last_frame": pa.int64(),
        "first_time": pa.float64(),
        "last_time": pa.float64(),
        "frames": pa.int64(),
        "skipped_frames": pa.int64(),
        "dropped_frames": pa.int64(),
        "truncated": pa.bool_(),
    }
    faces = [(c, kinds.get(c, pa.float64())) for c in CSV_FIXED] + [(f"p_{n}", pa.float64()) for n in labels]
    tracks = (
        [(c, kinds[c]) for c in TRACK_CSV_FIXED]
        + [(f"p_{n}", pa.float64()) for n in labels]
        + [(f"share_{n}", pa.float64()) for n in labels]
    )
    return {
        "faces": pa.schema(faces),
        "tracks": pa.schema(tracks),
        "errors": pa.schema([("path", pa.string()), ("error", pa.string())]),
    }


def face_records(result: dict, labels):
    """One dict per face of each photo and analysed video frame of a task result (CSV_FIXED + p_<label>)."""

    def record(path, frame, time, i, face):
        x1, y1, x2, y2 = face["box"]
        return {
            "path": path,
            "frame": frame,
            "time": time,
            "face": i,
            "track_id": face.get("track_id"),
            "x1": x1,
            "y1": y1,
            "x2": x2,
            "y2": y2,
            "score": face["score"],
            "label": face["label"],
            **{f"p_{n}": face["probabilities"].get(n) for n in labels},
        }

    for item in result.get("images", []):
        for i, face in enumerate(item["faces"]):
            yield record(item["path"], None, None, i, face)
    for item in result.get("videos", []):
        for fr in item["frames"]:
            for i, face in enumerate(fr["faces"]):
                yield record(item["path"], fr["frame"], fr["time"], i, face)


def track_records(result: dict, labels):
    """One dict per track of each video (a video without tracks: one row with its path and damage counts)."""
    for item in result.get("videos", []):
        video = {
            "path": item["path"],
            "skipped_frames": item.get("skipped_frames", 0),
            "dropped_frames": item.get("dropped_frames", 0),
            "truncated": bool(item.get("truncated")),
        }
        if not item["tracks"]:
            yield video
        for t in item["tracks"]:
            yield {
                **video,
                "track_id": t["track_id"],
                "first_frame": t["first_frame"],
                "last_frame": t["last_frame"],
                "first_time": t.get("first_time"),
                "last_time": t.get("last_time"),
                "frames": t["frames"],
                "label": t["label"],
                **{f"p_{n}": t["probabilities"].get(n) for n in labels},
                **{f"share_{n}": t.get("label_shares", {}).get(n, 0.0) for n in labels},
            }


def write_part(folder: Path, name: str, records: list[dict], schema) -> Path | None:
    """``records`` as ``folder/part-<name>.parquet`` (atomically); nothing when there are none (an earlier
    part of that name, from a run cut off before this task was finished, is removed)."""
    pa = require_pyarrow()
    import pyarrow.parquet as pq

    from ferkit.io_utils import atomic_write

    path = folder / f"part-{name}.parquet"
    if not records:
        path.unlink(missing_ok=True)
        return None
    table = pa.Table.from_pylist(records, schema=schema)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    return path


def write_result_parts(root: Path, name: str, result: dict, tables: dict, labels) -> None:
    """The faces, tracks and errors parts of one task result under ``root``."""
    write_part(root / "faces", name, list(face_records(result, labels)), tables["faces"])
    write_part(root / "tracks", name, list(track_records(result, labels)), tables["tracks"])
    write_part(
        root / "errors",
        name,
        [{"path": e["path"], "error": e["error"]} for e in result.get("errors", [])],
        tables["errors"],
    )
