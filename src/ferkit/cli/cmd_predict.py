"""`ferkit predict PATH...`: emotions of the faces in images, folders (recursive) and videos.

Exit status: 0 every input processed, 1 some inputs failed (listed on stderr), 2 usage error (bad option, bad
output path, nothing to process). Output paths are checked before any work starts."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ferkit.cli._engine_args import ADDRESS_ERROR, add_engine_options, check_engine_options, positive_int
from ferkit.cli._pipeline_args import add_pipeline_options, add_tta_option, build_recognizer
from ferkit.errors import FerkitError
from ferkit.io_utils import is_stdout

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict", help="recognise facial expressions in images, folders and videos", description=__doc__
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="image, video or folder (searched recursively)")
    p.add_argument(
        "--source",
        default=None,
        metavar="SRC",
        help="live or video source instead of PATHs: camera index (0), stream URL (rtsp://, http:// "
        "MJPEG) or video file; needs no display",
    )
    p.add_argument("--output", "-o", default=None, help="folder for annotated images / videos")
    p.add_argument("--json", default=None, metavar="FILE", help="write all results as JSON (- : standard output)")
    p.add_argument(
        "--csv", default=None, metavar="FILE", help="write one row per face (per frame for videos; - : standard output)"
    )
    p.add_argument(
        "--jsonl",
        default=None,
        metavar="FILE",
        help="write one JSON object per analysed video frame, as it goes (kept if the run is killed; "
        "- : standard output)",
    )
    p.add_argument(
        "--parquet",
        default=None,
        metavar="DIR",
        help="write a Parquet dataset: DIR/faces/ (the --csv columns), DIR/tracks/ (the _tracks.csv "
        "columns), DIR/errors/ (path, error); parts are written as the work completes",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run whose finished work is in --parquet DIR (same command): inputs already "
        "done are not analysed again, and every report ends with exactly the rows of a whole run",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="worker processes, one single-threaded recogniser each (default: the usable cores; with "
        "--engine ray: Ray actors, default the cluster's CPUs)",
    )
    add_engine_options(
        p,
        engine_help="local: a process pool on this machine; ray: Ray Data on a Ray cluster (pip install 'ferkit[ray]')",
        local_ray="start a local Ray",
    )
    p.add_argument("--every-n-frames", type=int, default=1, help="analyse every n-th video frame")
    p.add_argument(
        "--detect-every",
        type=positive_int,
        default=1,
        metavar="K",
        help="run the face detector on every K-th analysed frame; tracks carry faces in between",
    )
    p.add_argument("--max-frames", type=positive_int, default=None, metavar="N", help="stop each video after N frames")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop each video after S seconds")
    p.add_argument("--no-bars", action="store_true", help="annotate without probability bars")
    p.add_argument("--quiet", "-q", action="store_true", help="no table on stdout")
    add_pipeline_options(p)
    add_tta_option(p)
    p.set_defaults(func=run)


def _targets(args) -> dict[str, str | None]:
    return {"--json": args.json, "--csv": args.csv, "--jsonl": args.jsonl}


def analysis_options(args):
    """The AnalysisOptions of a ``ferkit predict`` command line."""
    from ferkit.batch.options import AnalysisOptions
    from ferkit.cli._pipeline_args import recognizer_options

    return AnalysisOptions(
        recognizer=recognizer_options(args),
        model_name=args.model or "ferplus",
        every_n_frames=args.every_n_frames,
        detect_every=args.detect_every,
        max_frames=args.max_frames,
        duration=args.duration,
        bars=not args.no_bars,
    )


def run(args: argparse.Namespace) -> int:
    from ferkit.cli import outputs

    if args.duration is not None and args.duration <= 0:
        raise FerkitError(f"--duration must be > 0 seconds, not {args.duration}")
    targets = _targets(args)
    outputs.check_targets(targets, args.output)  # before any work: a bad path must not cost the analysis
    if args.parquet:
        outputs.check_folder_target(args.parquet, "--parquet")
    if args.resume and not args.parquet:
        raise FerkitError("--resume needs --parquet DIR: the finished work a run keeps is there")
    if args.address and args.engine != "ray":
        raise FerkitError(ADDRESS_ERROR)
    if args.source is not None:
        if args.paths:
            raise FerkitError("give either PATHs or --source SRC, not both")
        if args.parquet or args.engine != "local":
            raise FerkitError("--parquet and --engine are for collections of PATHs, not a live --source")
        from ferkit.cli._predict_video import run_source

        doc = run_source(args, build_recognizer)
        return _write_outputs(doc, args, doc["labels"], n_inputs=1)
    if not args.paths:
        raise FerkitError("give at least one PATH (image, video or folder), or --source SRC")
    check_engine_options(args)
    if args.parquet:
        from ferkit.batch.parquet_parts import require_pyarrow

        require_pyarrow()
    from ferkit.batch.inputs import collect
    from ferkit.media.sniff import is_video_file

    files, errors = collect(args.paths)
    outputs.check_not_inputs(targets, [f for f, _ in files])
    skipped = [e for e in errors if e["error"].startswith("skipped")]
    errors = [e for e in errors if e not in skipped]
    if not files:
        for e in errors + skipped:
            print(f"ferkit predict: {e['path']}: {e['error']}", file=sys.stderr)
        raise FerkitError("nothing to process")
    kinds = [is_video_file(f) for f, _ in files]
    out_dir = Path(args.output) if args.output else None
    annotated = (
        outputs.annotated_targets(
            out_dir, [(f, rel, v) for (f, rel), v in zip(files, kinds)], reserved=[t for t in targets.values() if t]
        )
        if out_dir is not None
        else None
    )
    options = analysis_options(args)
    recognizer = options.build_recognizer()  # the options checked (a bad model fails here, once), labels known
    head = {"model": options.model_name, "detector": recognizer.detector.name, "labels": list(recognizer.labels)}
    return _run_collection(args, files, kinds, annotated, options, head, errors, skipped, recognizer)


def _run_collection(args, files, kinds, annotated, options, head: dict, errors: list, skipped: list, recognizer) -> int:
    """Analyse the collection on the chosen engine, writing every report as the results come."""
    from ferkit.batch.runner import run_tasks
    from ferkit.batch.tasks import make_tasks, tasks_digest
    from ferkit.cli._predict_reports import CsvReport, JsonReport
    from ferkit.cli._predict_video import JsonlWriter

    tasks = make_tasks([(f, v) for (f, _), v in zip(files, kinds)], annotated)
    folder = None
    if args.parquet:
        from ferkit.batch.run_folder import RunFolder

        folder = RunFolder(args.parquet, options.signature(), tasks_digest(tasks), head["labels"], resume=args.resume)
        folder.save_input_errors(errors)
    csv_report = CsvReport(args.csv, head["labels"]) if args.csv else None
    json_report = JsonReport(args.json, head) if args.json else None
    table = not args.quiet and not any(is_stdout(t) for t in _targets(args).values() if t)
    processed = 0
    jsonl = JsonlWriter(args.jsonl)
    try:
        for result in run_tasks(
            tasks,
            options,
            engine=args.engine,
            workers=args.workers,
            address=args.address,
            folder=folder,
            recognizer=recognizer,
        ):
            processed += len(result["images"]) + len(result["videos"])
            errors.extend(result["errors"])
            for report in (csv_report, json_report):
                if report is not None:
                    report.add(result)
            for entry in result["images"]:
                jsonl.write(entry)
            for entry in result["videos"]:
                for frame in entry["frames"]:
                    jsonl.write({"path": entry["path"], **frame})
            if table and (result["images"] or result["videos"]):
                from tqdm import tqdm

                from ferkit.inference.report import table_text

                tqdm.write(table_text({"images": result["images"], "videos": result["videos"]}))
        tail = {
            "errors": errors,
            "skipped": [{"path": e["path"], "reason": "not an image or video file"} for e in skipped],
        }
        written_ok = _finish_reports(csv_report, json_report, tail)
    finally:
        jsonl.close()
        for report in (csv_report, json_report):
            if report is not None:
                report.close()
    if table and (errors or skipped):
        from ferkit.inference.report import table_text

        print(table_text(tail))
    return _finish(processed, errors, tail["skipped"], len(files), written_ok)


def _finish_reports(csv_report, json_report, tail: dict) -> bool:
    """Put --csv and --json in place; a failed write is one line on stderr (the other report is still written)."""
    from ferkit.io_utils import write_failure

    ok = True
    for report, finish in ((csv_report, lambda r: r.finish()), (json_report, lambda r: r.finish(tail))):
        if report is None:
            continue
        try:
            finish(report)
        except (OSError, FerkitError) as e:
            print(f"ferkit predict: error: {write_failure(report.path, e)}", file=sys.stderr)
            ok = False
    return ok


def _write_outputs(doc: dict, args, labels, n_inputs: int) -> int:
    """The reports of a live --source run (one whole document)."""
    written_ok = _write_reports(args, doc, labels)
    if not args.quiet and not any(is_stdout(t) for t in _targets(args).values() if t):  # stdout holds a report
        from ferkit.inference.report import table_text

        print(table_text(doc))
    processed = len(doc["images"]) + len(doc["videos"])
    return _finish(processed, doc["errors"], doc.get("skipped", []), n_inputs, written_ok)


def _write_reports(args, doc: dict, labels) -> bool:
    """--json and --csv; a failed write is one line on stderr (the other reports are still written)."""
    from ferkit.inference.report import write_results_csv, write_results_json
    from ferkit.io_utils import write_failure

    ok = True
    for target, write in (
        (args.json, lambda t: write_results_json(t, doc)),
        (args.csv, lambda t: write_results_csv(t, doc, labels)),
    ):
        if not target:
            continue
        try:
            write(target)
        except (OSError, FerkitError) as e:
            print(f"ferkit predict: error: {write_failure(target, e)}", file=sys.stderr)
            ok = False
    return ok


def _finish(processed: int, errors: list, skipped: list, n_inputs: int, written_ok: bool) -> int:
    """Exit status: 0 every input processed and every output written; 1 otherwise (failures listed on
    stderr). Skipped non-media files are counted, not failed."""
    if skipped:
        print(f"ferkit predict: skipped {len(skipped)} file(s) that are not images or videos", file=sys.stderr)
    if errors:
        print(
            f"ferkit predict: {len(errors)} failure(s), {processed} of {n_inputs} input(s) processed:", file=sys.stderr
        )
        for e in errors:  # messages usually start with the path already
            text = e["error"] if e["error"].startswith(e["path"]) else f"{e['path']}: {e['error']}"
            print(f"  FAILED {text}", file=sys.stderr)
    return 0 if processed and not errors and written_ok else 1
