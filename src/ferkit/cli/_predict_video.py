"""Videos and live sources for `ferkit predict`: one pass over the source, results written as they come
(``--jsonl``: one JSON object per analysed frame, flushed, so a killed run keeps everything so far)."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import IO

from ferkit.batch.analyse import analyse_video
from ferkit.errors import FerkitError, InputError

log = logging.getLogger(__name__)


def parse_source(text: str) -> int | str:
    """``--source``: a camera index ("0"), a stream URL (rtsp://, http://...) or a video file."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    return text


def source_name(source: int | str) -> str:
    from ferkit.media.video import is_stream_url

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


def run_source(args, recognizer_factory) -> dict:
    """``ferkit predict --source SRC``: no display; returns the results document."""
    source = parse_source(args.source)
    if isinstance(source, str) and not Path(source).exists():
        from ferkit.media.video import is_stream_url

        if not is_stream_url(source):
            raise FerkitError(
                f"--source {source}: not a camera index, stream URL (rtsp://, http://...) or existing video file"
            )
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
    return {
        "model": args.model or "ferplus",
        "detector": recognizer.detector.name,
        "labels": list(recognizer.labels),
        "images": [],
        "videos": [entry],
        "errors": errors,
    }
