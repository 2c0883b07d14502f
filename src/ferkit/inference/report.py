"""Serialising results: JSON documents, CSV rows, and a human-readable table."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from ferkit.inference.results import FaceResult, FrameResult, TrackSummary
from ferkit.io_utils import write_json, write_text

TRACK_CSV_FIXED = [
    "path",
    "track_id",
    "first_frame",
    "last_frame",
    "first_time",
    "last_time",
    "frames",
    "label",
    "skipped_frames",
    "dropped_frames",
    "truncated",
]
CSV_FIXED = ["path", "frame", "time", "face", "track_id", "x1", "y1", "x2", "y2", "score", "label"]


def image_entry(path, faces: list[FaceResult]) -> dict:
    """``hint`` (why no face was found in a face-sized image, see ImageFaces) only where there is one."""
    entry = {"path": str(path), "faces": [f.to_dict() for f in faces]}
    hint = getattr(faces, "hint", None)
    if hint:
        entry["hint"] = hint
    return entry


def video_entry(
    path,
    fps: float,
    frames: list[FrameResult],
    tracks: list[TrackSummary],
    truncated: bool,
    skipped_frames: int = 0,
    dropped_frames: int = 0,
) -> dict:
    """skipped_frames: undecodable frames read past; dropped_frames: live frames not analysed because analysis
    was slower than the source; truncated: decoding stopped before the frame count the file announces."""
    return {
        "path": str(path),
        "fps": round(fps, 3),
        "frames_analysed": sum(f.analysed for f in frames),
        "truncated": truncated,
        "skipped_frames": int(skipped_frames),
        "dropped_frames": int(dropped_frames),
        "frames": [f.to_dict() for f in frames if f.analysed],
        "tracks": [t.to_dict() for t in tracks],
    }


def write_results_json(path: str | os.PathLike, document: dict) -> None:
    write_json(path, document)


def face_rows(document: dict, labels):
    """The rows of ``--csv`` (CSV_FIXED + p_<label>) as lists: one per face of each image, then one per face
    of each analysed video frame. Images have "" for frame and time; a face without a track has ""."""

    def row(path, frame, time, i, face):
        return [
            path,
            frame,
            time,
            i,
            face.get("track_id") or "",
            *face["box"],
            face["score"],
            face["label"],
            *(face["probabilities"].get(name, "") for name in labels),
        ]

    for item in document.get("images", []):
        for i, face in enumerate(item["faces"]):
            yield row(item["path"], "", "", i, face)
    for item in document.get("videos", []):
        for fr in item["frames"]:
            for i, face in enumerate(fr["faces"]):
                yield row(item["path"], fr["frame"], fr["time"], i, face)


def csv_header(labels) -> list[str]:
    return CSV_FIXED + [f"p_{name}" for name in labels]


def csv_text(document: dict, labels) -> str:
    """One row per face (images) or per face per analysed frame (videos); probabilities as p_<label> columns."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(csv_header(labels))
    writer.writerows(face_rows(document, labels))
    return buf.getvalue()


def track_rows(document: dict, labels):
    """The rows of the per-track summary (``tracks_csv_header``) as lists: one per track of each video; a video
    without tracks gets one row with its path and damage counts only."""
    for item in document.get("videos", []):
        video = [item.get("skipped_frames", 0), item.get("dropped_frames", 0), int(bool(item.get("truncated")))]
        if not item["tracks"]:
            yield [item["path"], "", "", "", "", "", "", ""] + video
        for t in item["tracks"]:
            yield (
                [
                    item["path"],
                    t["track_id"],
                    t["first_frame"],
                    t["last_frame"],
                    t.get("first_time", ""),
                    t.get("last_time", ""),
                    t["frames"],
                    t["label"],
                ]
                + video
                + [t["probabilities"].get(n, "") for n in labels]
                + [t.get("label_shares", {}).get(n, 0.0) for n in labels]
            )


def tracks_csv_header(labels) -> list[str]:
    return TRACK_CSV_FIXED + [f"p_{n}" for n in labels] + [f"share_{n}" for n in labels]


def tracks_csv_text(document: dict, labels) -> str:
    """The per-track summary of every video: one row per track with its span, dominant label, mean
    probabilities (p_<label>) and share of frames per shown label (share_<label>); the video's skipped_frames,
    dropped_frames and truncated repeat on each of its rows (a video without tracks gets one row)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(tracks_csv_header(labels))
    writer.writerows(track_rows(document, labels))
    return buf.getvalue()


def tracks_csv_path(path: str | os.PathLike) -> Path:
    """Where the per-track summary goes next to a ``--csv`` file: ``timeline.csv`` -> ``timeline_tracks.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}_tracks{path.suffix or '.csv'}")


def write_results_csv(path: str | os.PathLike, document: dict, labels) -> None:
    """The per-face rows to ``path``; with videos, their per-track summary to ``tracks_csv_path(path)``."""
    write_text(path, csv_text(document, labels))
    if document.get("videos"):
        write_text(tracks_csv_path(path), tracks_csv_text(document, labels))


def table_text(document: dict) -> str:
    lines = []
    for item in document.get("images", []):
        faces = item["faces"]
        lines.append(f"{item['path']}: {len(faces)} face{'s' if len(faces) != 1 else ''}")
        if item.get("hint"):
            lines.append(f"  hint: {item['hint']}")
        for i, f in enumerate(faces):
            x1, y1, x2, y2 = f["box"]
            top = sorted(f["probabilities"].items(), key=lambda kv: -kv[1])[:3]
            lines.append(
                f"  [{i}] {f['label']:<10} {f['probabilities'][f['label']]:6.1%}  box=({x1:.0f},{y1:.0f},"
                f"{x2:.0f},{y2:.0f}) det={f['score']:.2f}  " + ", ".join(f"{k} {v:.0%}" for k, v in top)
            )
    for item in document.get("videos", []):
        notes = [
            f"{n} {what}"
            for n, what in (
                (item.get("skipped_frames", 0), "undecodable frames skipped"),
                (item.get("dropped_frames", 0), "live frames dropped"),
            )
            if n
        ]
        notes += ["TRUNCATED"] if item["truncated"] else []
        lines.append(
            f"{item['path']}: {item['frames_analysed']} frames analysed, {len(item['tracks'])} tracks"
            + (f" ({', '.join(notes)})" if notes else "")
        )
        for t in item["tracks"]:
            lines.append(
                f"  track {t['track_id']:>3}: {t['label']:<10} {t['probabilities'][t['label']]:6.1%} "
                f"over {t['frames']} frames ({t['first_frame']}-{t['last_frame']}, "
                f"{t.get('first_time', 0):.1f}-{t.get('last_time', 0):.1f} s)"
            )
    for err in document.get("errors", []):
        lines.append(f"FAILED {err['path']}: {err['error']}")
    for item in document.get("skipped", []):
        lines.append(f"skipped {item['path']}: {item['reason']}")
    return "\n".join(lines)
