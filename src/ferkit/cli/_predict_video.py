"""Videos and live sources for `ferkit predict`: one pass over the source, results written as they come
(``--jsonl``: one JSON object per analysed frame, flushed, so a killed run keeps everything so far)."""
from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import IO

from ferkit.errors import FerkitError, InputError, OutputError

log = logging.getLogger(__name__)


def parse_source(text: str) -> int | str:
    """``--source``: a camera index ("0"), a stream URL (rtsp://, http://...) or a video file."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    return text


def source_name(source: int | str) -> str:
    from ferkit.inference.video import is_stream_url

    if isinstance(source, int):
        return f"camera{source}"
    if is_stream_url(source):
        return "stream"
    return Path(source).stem


class JsonlWriter:
    """Appends one JSON object per line to FILE and flushes each, so the lines survive a killed run; ``-`` is
    standard output (symlinks are written through; FIFOs and devices are refused, see io_utils.open_output)."""

    def __init__(self, path: str | None):
        from ferkit.io_utils import open_output

        self._stack = contextlib.ExitStack()
        self.file: IO[str] | None = None
        if path:
            self.file = self._stack.enter_context(open_output(path, atomic=False))

    def write(self, obj: dict) -> None:
        if self.file is not None:
            self.file.write(json.dumps(obj) + "\n")
            self.file.flush()

    def close(self) -> None:
        self._stack.close()


def analyse_video(recognizer, source, annotated: Path | None, args, jsonl: JsonlWriter | None = None,
                  errors: list | None = None) -> dict:
    """Run the recogniser over one video / camera / URL; returns the JSON entry of the run (report.video_entry).
    Ctrl-C stops a live run cleanly: what was analysed so far is reported and written. A failed write of the
    annotated video (disk full...) is recorded in ``errors`` and the analysis goes on; the video is then
    never left under its final name."""
    from ferkit.cli.outputs import output_failed
    from ferkit.inference.drawing import annotate
    from ferkit.inference.report import video_entry
    from ferkit.inference.results import summarise_tracks
    from ferkit.inference.video import VideoWriter

    label = str(source)
    run = recognizer.predict_video(source, every_n_frames=args.every_n_frames, return_frames=annotated is not None,
                                   max_frames=getattr(args, "max_frames", None),
                                   duration=getattr(args, "duration", None),
                                   detect_every=getattr(args, "detect_every", 1))
    errors = [] if errors is None else errors
    frames, writer, write_failed, finished = [], None, False, False
    try:
        for item in run:
            result, rgb = item if annotated is not None else (item, None)
            if rgb is not None and not write_failed:
                try:
                    if writer is None:
                        writer = VideoWriter(annotated, run.info.fps, (rgb.shape[1], rgb.shape[0]))
                    writer.write(annotate(rgb, result.faces, bars=not args.no_bars))
                except (OSError, OutputError) as e:   # only the annotated video is lost; the analysis goes on
                    write_failed = True
                    output_failed(errors, annotated, e)
            frames.append(result)
            if result.analysed and jsonl is not None:
                jsonl.write({"path": label, **result.to_dict()})
        finished = True
    except KeyboardInterrupt:
        run.close()
        finished = True
        print(f"ferkit predict: {label}: stopped after {run.frames_analysed} analysed frames", file=sys.stderr)
    finally:
        if writer is not None and finished and not write_failed:
            try:
                writer.close()
            except (OSError, OutputError) as e:
                write_failed = True
                output_failed(errors, annotated, e)
        if writer is not None:
            writer.discard()   # nothing left after a successful close; a failed or aborted video goes
    if run.dropped_frames:
        log.warning("%s: analysis was slower than the source; %d frames dropped", label, run.dropped_frames)
    entry = video_entry(label, run.info.fps, frames, summarise_tracks(frames), run.truncated,
                        skipped_frames=run.skipped_frames, dropped_frames=run.dropped_frames)
    if writer is not None and not write_failed:
        entry["output"] = str(annotated)
    return entry


def run_source(args, recognizer_factory) -> dict:
    """``ferkit predict --source SRC``: no display; returns the results document."""
    source = parse_source(args.source)
    if isinstance(source, str) and not Path(source).exists():
        from ferkit.inference.video import is_stream_url

        if not is_stream_url(source):
            raise FerkitError(f"--source {source}: not a camera index, stream URL (rtsp://, http://...) or "
                              "existing video file")
    recognizer = recognizer_factory(args)
    annotated = None
    if args.output:
        annotated = Path(args.output) / f"{source_name(source)}_annotated.mp4"
    jsonl = JsonlWriter(args.jsonl)
    errors: list = []
    try:
        entry = analyse_video(recognizer, source, annotated, args, jsonl, errors)
    except InputError as e:
        raise FerkitError(str(e)) from None
    finally:
        jsonl.close()
    return {"model": args.model or "ferplus", "detector": recognizer.detector.name,
            "labels": list(recognizer.labels), "images": [], "videos": [entry], "errors": errors}
