"""`ferkit predict PATH...`: emotions of the faces in images, folders (recursive) and videos.

Exit status: 0 every input processed, 1 some inputs failed (listed on stderr), 2 usage error (bad option, bad
output path, nothing to process). Output paths are checked before any work starts."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ferkit.cli._pipeline_args import add_pipeline_options, build_recognizer
from ferkit.errors import FerkitError, OutputError
from ferkit.io_utils import is_stdout

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="recognise facial expressions in images, folders and videos",
                              description=__doc__)
    p.add_argument("paths", nargs="*", metavar="PATH", help="image, video or folder (searched recursively)")
    p.add_argument("--source", default=None, metavar="SRC",
                   help="live or video source instead of PATHs: camera index (0), stream URL (rtsp://, http:// "
                        "MJPEG) or video file; needs no display")
    p.add_argument("--output", "-o", default=None, help="folder for annotated images / videos")
    p.add_argument("--json", default=None, metavar="FILE", help="write all results as JSON (- : standard output)")
    p.add_argument("--csv", default=None, metavar="FILE",
                   help="write one row per face (per frame for videos; - : standard output)")
    p.add_argument("--jsonl", default=None, metavar="FILE",
                   help="write one JSON object per analysed video frame, as it goes (kept if the run is killed; "
                        "- : standard output)")
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


def _write_image(path: Path, rgb) -> None:
    import cv2

    from ferkit.io_utils import atomic_write

    ok, data = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise FerkitError(f"{path}: cannot encode image")
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data.tobytes()))


def _targets(args) -> dict[str, str | None]:
    return {"--json": args.json, "--csv": args.csv, "--jsonl": args.jsonl}


def run(args: argparse.Namespace) -> int:
    from ferkit.cli import outputs

    if args.duration is not None and args.duration <= 0:
        raise FerkitError(f"--duration must be > 0 seconds, not {args.duration}")
    targets = _targets(args)
    outputs.check_targets(targets, args.output)   # before any work: a bad path must not cost the analysis
    if args.source is not None:
        if args.paths:
            raise FerkitError("give either PATHs or --source SRC, not both")
        from ferkit.cli._predict_video import run_source

        doc = run_source(args, build_recognizer)
        return _write_outputs(doc, args, doc["labels"], n_inputs=1)
    if not args.paths:
        raise FerkitError("give at least one PATH (image, video or folder), or --source SRC")
    from tqdm import tqdm

    from ferkit.cli._predict_video import JsonlWriter
    from ferkit.inference.video import is_video_file

    files, errors = collect(args.paths)
    outputs.check_not_inputs(targets, [f for f, _ in files])
    skipped = [e for e in errors if e["error"].startswith("skipped")]
    errors = [e for e in errors if e not in skipped]
    if not files:
        for e in errors + skipped:
            print(f"ferkit predict: {e['path']}: {e['error']}", file=sys.stderr)
        raise FerkitError("nothing to process")
    out_dir = Path(args.output) if args.output else None
    annotated = (outputs.annotated_targets(out_dir, [(f, rel, is_video_file(f)) for f, rel in files],
                                           reserved=[t for t in targets.values() if t])
                 if out_dir is not None else [None] * len(files))
    recognizer = build_recognizer(args)
    doc = {"model": args.model or "ferplus", "detector": recognizer.detector.name,
           "labels": list(recognizer.labels), "images": [], "videos": [], "errors": errors,
           "skipped": [{"path": e["path"], "reason": "not an image or video file"} for e in skipped]}
    show_bar = len(files) > 1 and sys.stderr.isatty() or len(files) > 20
    jsonl = JsonlWriter(args.jsonl)
    try:
        for (path, _rel), target in tqdm(list(zip(files, annotated)), desc="predict", unit="file",
                                         disable=not show_bar):
            try:
                if is_video_file(path):
                    doc["videos"].append(_video(recognizer, path, target, args, jsonl, doc["errors"]))
                else:
                    doc["images"].append(_image(recognizer, path, target, args, doc["errors"]))
                    jsonl.write(doc["images"][-1])
            except FerkitError as e:
                doc["errors"].append({"path": str(path), "error": str(e)})
                log.warning("%s", e)
    finally:
        jsonl.close()
    return _write_outputs(doc, args, recognizer.labels, n_inputs=len(files))


def _write_outputs(doc: dict, args, labels, n_inputs: int) -> int:
    written_ok = _write_reports(args, doc, labels)
    if not args.quiet and not any(is_stdout(t) for t in _targets(args).values() if t):  # stdout holds a report
        from ferkit.inference.report import table_text

        print(table_text(doc))
    return _finish(doc, n_inputs, written_ok)


def _write_reports(args, doc: dict, labels) -> bool:
    """--json and --csv; a failed write is one line on stderr (the other reports are still written)."""
    from ferkit.cli.outputs import write_failure
    from ferkit.inference.report import write_results_csv, write_results_json

    ok = True
    for target, write in ((args.json, lambda t: write_results_json(t, doc)),
                          (args.csv, lambda t: write_results_csv(t, doc, labels))):
        if not target:
            continue
        try:
            write(target)
        except (OSError, FerkitError) as e:
            print(f"ferkit predict: error: {write_failure(target, e)}", file=sys.stderr)
            ok = False
    return ok


def _finish(doc: dict, n_inputs: int, written_ok: bool) -> int:
    """Exit status: 0 every input processed and every output written; 1 otherwise (failures listed on
    stderr). Skipped non-media files are counted, not failed."""
    processed = len(doc["images"]) + len(doc["videos"])
    skipped = doc.get("skipped", [])
    if skipped:
        print(f"ferkit predict: skipped {len(skipped)} file(s) that are not images or videos", file=sys.stderr)
    if doc["errors"]:
        print(f"ferkit predict: {len(doc['errors'])} failure(s), {processed} of {n_inputs} input(s) processed:",
              file=sys.stderr)
        for e in doc["errors"]:   # messages usually start with the path already
            text = e["error"] if e["error"].startswith(e["path"]) else f"{e['path']}: {e['error']}"
            print(f"  FAILED {text}", file=sys.stderr)
    return 0 if processed and not doc["errors"] and written_ok else 1


def _image(recognizer, path: Path, target: Path | None, args, errors: list) -> dict:
    from ferkit.cli.outputs import output_failed
    from ferkit.faces.image_io import load_image
    from ferkit.inference.report import image_entry

    rgb = load_image(path, recognizer.max_pixels)
    faces = recognizer.predict(rgb)
    entry = image_entry(path, faces)
    if target is not None:
        from ferkit.inference.drawing import annotate

        try:   # a failed write loses only this picture: the analysis is kept and the run goes on
            _write_image(target, annotate(rgb, faces, bars=not args.no_bars))
            entry["output"] = str(target)
        except (OSError, OutputError) as e:
            output_failed(errors, target, e)
    return entry


def _video(recognizer, path: Path, target: Path | None, args, jsonl, errors: list) -> dict:
    from ferkit.cli._predict_video import analyse_video

    entry = analyse_video(recognizer, path, target, args, jsonl, errors)
    entry["path"] = str(path)
    return entry
