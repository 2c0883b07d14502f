"""Serialising results: JSON documents, CSV rows, and a human-readable table."""
from __future__ import annotations

import csv
import io
import os

from ferkit.inference.results import FaceResult, FrameResult, TrackSummary
from ferkit.io_utils import write_json, write_text

CSV_FIXED = ["path", "frame", "time", "face", "track_id", "x1", "y1", "x2", "y2", "score", "label"]


def image_entry(path, faces: list[FaceResult]) -> dict:
    return {"path": str(path), "faces": [f.to_dict() for f in faces]}


def video_entry(path, fps: float, frames: list[FrameResult], tracks: list[TrackSummary], truncated: bool) -> dict:
    return {"path": str(path), "fps": round(fps, 3), "frames_analysed": sum(f.analysed for f in frames),
            "truncated": truncated, "frames": [f.to_dict() for f in frames if f.analysed],
            "tracks": [t.to_dict() for t in tracks]}


def write_results_json(path: str | os.PathLike, document: dict) -> None:
    write_json(path, document)


def csv_text(document: dict, labels) -> str:
    """One row per face (images) or per face per analysed frame (videos); probabilities as p_<label> columns."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIXED + [f"p_{name}" for name in labels])

    def row(path, frame, time, i, face):
        box = face["box"]
        writer.writerow([path, frame, time, i, face.get("track_id") or "", *box, face["score"], face["label"],
                         *(face["probabilities"].get(name, "") for name in labels)])

    for item in document.get("images", []):
        for i, face in enumerate(item["faces"]):
            row(item["path"], "", "", i, face)
    for item in document.get("videos", []):
        for fr in item["frames"]:
            for i, face in enumerate(fr["faces"]):
                row(item["path"], fr["frame"], fr["time"], i, face)
    return buf.getvalue()


def write_results_csv(path: str | os.PathLike, document: dict, labels) -> None:
    write_text(path, csv_text(document, labels))


def table_text(document: dict) -> str:
    lines = []
    for item in document.get("images", []):
        faces = item["faces"]
        lines.append(f"{item['path']}: {len(faces)} face{'s' if len(faces) != 1 else ''}")
        for i, f in enumerate(faces):
            x1, y1, x2, y2 = f["box"]
            top = sorted(f["probabilities"].items(), key=lambda kv: -kv[1])[:3]
            lines.append(f"  [{i}] {f['label']:<10} {f['probabilities'][f['label']]:6.1%}  box=({x1:.0f},{y1:.0f},"
                         f"{x2:.0f},{y2:.0f}) det={f['score']:.2f}  " + ", ".join(f"{k} {v:.0%}" for k, v in top))
    for item in document.get("videos", []):
        lines.append(f"{item['path']}: {item['frames_analysed']} frames analysed, {len(item['tracks'])} tracks"
                     + (" (TRUNCATED)" if item["truncated"] else ""))
        for t in item["tracks"]:
            lines.append(f"  track {t['track_id']:>3}: {t['label']:<10} {t['probabilities'][t['label']]:6.1%} "
                         f"over {t['frames']} frames ({t['first_frame']}-{t['last_frame']})")
    for err in document.get("errors", []):
        lines.append(f"FAILED {err['path']}: {err['error']}")
    return "\n".join(lines)
