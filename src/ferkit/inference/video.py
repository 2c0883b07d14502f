"""Video input and output with OpenCV: frames come out as RGB uint8, decode failures become warnings."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ferkit.errors import InputError

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


def is_video_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


@dataclass
class VideoInfo:
    fps: float
    width: int
    height: int
    frame_count: int   # as reported by the container; 0 for cameras / unknown


class VideoSource:
    """Iterate (index, time_s, rgb) over a file or camera index. A stream that stops before the frame count
    the container announced logs a warning (``truncated`` is set) instead of raising; a source that yields no
    frame at all raises InputError."""

    def __init__(self, source: str | int | os.PathLike):
        self.source = source
        if isinstance(source, (str, os.PathLike)) and not str(source).isdigit():
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{path}: no such video file")
            if path.stat().st_size == 0:
                raise InputError(f"{path}: empty file (0 bytes)")
            self.cap = cv2.VideoCapture(str(path))
        else:
            self.cap = cv2.VideoCapture(int(source))
        if not self.cap.isOpened():
            raise InputError(f"{source}: cannot open video (unsupported format, corrupt file or no camera)")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(fps=fps if fps and fps > 0 else 30.0,
                              width=int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              height=int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                              frame_count=max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))))
        self.truncated = False
        self.frames_read = 0

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        index = 0
        try:
            while True:
                ok, bgr = self.cap.read()
                if not ok or bgr is None:
                    break
                t = index / self.info.fps
                yield index, t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                index += 1
        finally:
            self.frames_read = index
            self.cap.release()
        if index == 0:
            raise InputError(f"{self.source}: no frame could be decoded")
        if self.info.frame_count and index < self.info.frame_count and not isinstance(self.source, int):
            self.truncated = True
            log.warning("%s: decoded %d of the %d frames the file announces (truncated or corrupt); "
                        "results cover the decoded frames", self.source, index, self.info.frame_count)


class VideoWriter:
    """Annotated video output (mp4v), written to a temporary name and renamed when closed."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix or '.mp4'}")
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            raise InputError(f"{self.path}: cannot open video writer")

    def write(self, rgb: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> Path:
        self.writer.release()
        os.replace(self.tmp, self.path)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.writer.release()
            self.tmp.unlink(missing_ok=True)
