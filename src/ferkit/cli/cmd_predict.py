"""`ferkit predict PATH...`: emotions of the faces in images, folders (recursive) and videos."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from ferkit.cli._pipeline_args import add_pipeline_options, build_recognizer
from ferkit.errors import FerkitError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="recognise facial expressions in images, folders and videos",
                              description=__doc__)
    p.add_argument("paths", nargs="*", metavar="PATH", help="image, video or folder (searched recursively)")
    p.add_argument("--source", default=None, metavar="SRC",
                   help="live or video source instead of PATHs: camera index (0), stream URL (rtsp://, http:// "
                        "MJPEG) or video file; needs no display")
    p.add_argument("--output", "-o", default=None, help="folder for annotated images / videos")
    p.add_argument("--json", default=None, metavar="FILE", help="write all results as JSON")
    p.add_argument("--csv", default=None, metavar="FILE", help="write one row per face (per frame for videos)")
    p.add_argument("--jsonl", default=None, metavar="FILE",
                   help="write one JSON object per analysed video frame, as it goes (kept if the run is killed)")
    p.add_argument("--every-n-frames", type=int, default=1, help="analyse every n-th video frame")
    p.add_argument("--detect-every", type=_positive, default=1, metavar="K",
                   help="run the face detector on every K-th analysed frame; tracks carry faces in between")
    p.add_argument("--max-frames", type=_positive, default=None, metavar="N", help="stop each video after N frames")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop each video after S seconds")
    p.add_argument("--no-bars", action="store_true", help="annotate without probability bars")
    p.add_argument("--quiet", "-q", action="store_true", help="no table on stdout")
    add_pipeline_options(p)
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def collect(paths: list[str]) -> tuple[list[tuple[Path, Path]], list[dict]]:
    """(file, path relative to its root) for every input; folders are walked recursively (media files only)."""
    from ferkit.faces.image_io import is_image_file
    from ferkit.inference.video import is_video_file

    files, errors = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and not f.name.startswith("."):
                    if is_image_file(f) or is_video_file(f):
                        files.append((f, f.relative_to(path)))
                    else:
                        errors.append({"path": str(f), "error": "skipped: not an image or video file"})
        elif path.exists():
            files.append((path, Path(path.name)))
        else:
            errors.append({"path": str(path), "error": "no such file or folder"})
    return files, errors


def _annotated_path(out_dir: Path, rel: Path, suffix: str | None = None) -> Path:
    return out_dir / rel.parent / f"{rel.stem}_annotated{suffix or rel.suffix}"


def _write_image(path: Path, rgb) -> None:
    import cv2

    from ferkit.io_utils import atomic_write

    suffix = path.suffix.lower() if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp", ".webp") else ".png"
    path = path.with_suffix(suffix)
    ok, data = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise FerkitError(f"{path}: cannot encode image")
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data.tobytes()))
    os.chmod(path, 0o644)  # mkstemp creates 0600; outputs are ordinary files


def run(args: argparse.Namespace) -> int:
    if args.duration is not None and args.duration <= 0:
        raise FerkitError(f"--duration must be > 0 seconds, not {args.duration}")
    if args.source is not None:
        if args.paths:
            raise FerkitError("give either PATHs or --source SRC, not both")
        from ferkit.cli._predict_video import run_source

        doc = run_source(args, build_recognizer)
        return _write_outputs(doc, args, doc["labels"])
    if not args.paths:
        raise FerkitError("give at least one PATH (image, video or folder), or --source SRC")
    from tqdm import tqdm

    from ferkit.cli._predict_video import JsonlWriter
    from ferkit.inference.video import is_video_file

    files, errors = collect(args.paths)
    if not files:
        for e in errors:
            print(f"ferkit predict: {e['path']}: {e['error']}", file=sys.stderr)
        raise FerkitError("nothing to process")
    recognizer = build_recognizer(args)
    out_dir = Path(args.output) if args.output else None
    doc = {"model": args.model or "ferplus", "detector": recognizer.detector.name,
           "labels": list(recognizer.labels), "images": [], "videos": [], "errors": errors}
    show_bar = len(files) > 1 and sys.stderr.isatty() or len(files) > 20
    jsonl = JsonlWriter(args.jsonl)
    try:
        for path, rel in tqdm(files, desc="predict", unit="file", disable=not show_bar):
            try:
                if is_video_file(path):
                    doc["videos"].append(_video(recognizer, path, rel, out_dir, args, jsonl))
                else:
                    doc["images"].append(_image(recognizer, path, rel, out_dir, args))
                    jsonl.write(doc["images"][-1])
            except FerkitError as e:
                doc["errors"].append({"path": str(path), "error": str(e)})
                log.warning("%s", e)
    finally:
        jsonl.close()
    return _write_outputs(doc, args, recognizer.labels)


def _write_outputs(doc: dict, args, labels) -> int:
    if args.json:
        from ferkit.inference.report import write_results_json

        write_results_json(args.json, doc)
    if args.csv:
        from ferkit.inference.report import write_results_csv

        write_results_csv(args.csv, doc, labels)
    if not args.quiet:
        from ferkit.inference.report import table_text

        print(table_text(doc))
    processed = len(doc["images"]) + len(doc["videos"])
    failed = [e for e in doc["errors"] if not e["error"].startswith("skipped")]
    if failed:
        print(f"ferkit predict: {len(failed)} input(s) failed, {processed} processed", file=sys.stderr)
    return 0 if processed else 1


def _image(recognizer, path: Path, rel: Path, out_dir: Path | None, args) -> dict:
    from ferkit.faces.image_io import load_image
    from ferkit.inference.report import image_entry

    rgb = load_image(path, recognizer.max_pixels)
    faces = recognizer.predict(rgb)
    if out_dir is not None:
        from ferkit.inference.drawing import annotate

        _write_image(_annotated_path(out_dir, rel), annotate(rgb, faces, bars=not args.no_bars))
    return image_entry(path, faces)


def _video(recognizer, path: Path, rel: Path, out_dir: Path | None, args, jsonl=None) -> dict:
    from ferkit.cli._predict_video import analyse_video

    annotated = _annotated_path(out_dir, rel, ".mp4") if out_dir is not None else None
    entry = analyse_video(recognizer, path, annotated, args, jsonl)
    entry["path"] = str(path)
    return entry
