"""Videos and live sources for `ferkit predict`: one pass over the source, results written as they come
(``--jsonl``: one JSON object per analysed frame, flushed, so a killed run keeps everything so far)."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import IO

from ferkit.errors import FerkitError, InputError

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
    """Appends one JSON object per line to FILE and flushes each, so the lines survive a killed run."""

    def __init__(self, path: str | None):
        self.file: IO[str] | None = None
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.file = open(path, "w")

    def write(self, obj: dict) -> None:
        if self.file is not None:
            self.file.write(json.dumps(obj) + "\n")
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def analyse_video(recognizer, source, annotated: Path | None, args, jsonl: JsonlWriter | None = None) -> dict:
    """Run the recogniser over one video / camera / URL; returns the JSON entry of the run (report.video_entry).
    Ctrl-C stops a live run cleanly: what was analysed so far is reported and written."""
    from ferkit.inference.drawing import annotate
    from ferkit.inference.report import video_entry
    from ferkit.inference.results import summarise_tracks
    from ferkit.inference.video import VideoWriter

    label = str(source)
    run = recognizer.predict_video(source, every_n_frames=args.every_n_frames, return_frames=annotated is not None,
                                   max_frames=getattr(args, "max_frames", None),
                                   duration=getattr(args, "duration", None),
                                   detect_every=getattr(args, "detect_every", 1))
    frames, writer = [], None
    try:
        for item in run:
            result, rgb = item if annotated is not None else (item, None)
            if rgb is not None:
                if writer is None:
                    writer = VideoWriter(annotated, run.info.fps, (rgb.shape[1], rgb.shape[0]))
                writer.write(annotate(rgb, result.faces, bars=not args.no_bars))
            frames.append(result)
            if result.analysed and jsonl is not None:
                jsonl.write({"path": label, **result.to_dict()})
    except KeyboardInterrupt:
        run.close()
        print(f"ferkit predict: {label}: stopped after {run.frames_analysed} analysed frames", file=sys.stderr)
    finally:
        if writer is not None:
            writer.close()
    if run.dropped_frames:
        log.warning("%s: analysis was slower than the source; %d frames dropped", label, run.dropped_frames)
    return video_entry(label, run.info.fps, frames, summarise_tracks(frames), run.truncated,
                       skipped_frames=run.skipped_frames, dropped_frames=run.dropped_frames)


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
    try:
        entry = analyse_video(recognizer, source, annotated, args, jsonl)
    except InputError as e:
        raise FerkitError(str(e)) from None
    finally:
        jsonl.close()
    return {"model": args.model or "ferplus", "detector": recognizer.detector.name,
            "labels": list(recognizer.labels), "images": [], "videos": [entry], "errors": []}
