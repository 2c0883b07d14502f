"""Video input and output with OpenCV: frames come out as RGB uint8; damaged files are read past.

``VideoSource`` opens a file, a camera index or a stream URL (rtsp://, http(s):// MJPEG, anything OpenCV's
FFmpeg reads) once and reports what the whole run needs: fps, size, announced frame count, and after reading
``skipped_frames`` (undecodable frames read past) and ``truncated`` (stopped before the announced end).
"""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ferkit.errors import InputError

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".ogv", ".ogg",
                  ".3gp", ".3g2", ".flv", ".ts", ".mts", ".m2ts", ".asf", ".vob", ".mxf", ".y4m", ".divx", ".f4v"}
URL_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# After this many undecodable frames in a row the file is taken to end (or to be damaged beyond use).
MAX_BAD_IN_A_ROW = 25


def _sniff_video(head: bytes) -> bool:
    """Container signatures of the formats OpenCV's FFmpeg reads (so a video is known by content)."""
    return (head[4:8] == b"ftyp"                                   # MP4, MOV, 3GP, M4V
            or head[:4] in (b"OggS", b"\x1aE\xdf\xa3", b"FLV\x01", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")
            or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
            or head[:16] == bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")  # ASF / WMV
            or head[:9] == b"YUV4MPEG2"
            or (len(head) > 188 and head[0] == 0x47 and head[188] == 0x47 and head[:3] != b"GIF"))  # MPEG-TS


def is_video_file(path: str | os.PathLike) -> bool:
    """A video by its suffix or, whatever the suffix, by its container signature."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            return _sniff_video(f.read(200))
    except OSError:
        return False


def is_stream_url(source) -> bool:
    return isinstance(source, str) and bool(URL_PATTERN.match(source))


def quiet_ffmpeg() -> None:
    """Ask OpenCV's FFmpeg backend not to print its per-frame decoder errors (read when FFmpeg is first used;
    a value the user set is kept). Damage is reported once, by VideoSource, instead."""
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")


@dataclass
class VideoInfo:
    fps: float
    width: int
    height: int
    frame_count: int   # as reported by the container; 0 for cameras, streams and unknown


class VideoSource:
    """Iterate (index, time_s, rgb) over a video file, camera index or stream URL. Undecodable frames are
    skipped (counted in ``skipped_frames``; indices and times still count them); reading stops at the end or
    after MAX_BAD_IN_A_ROW bad frames in a row; stopping before the announced frame count sets ``truncated``.
    A source that cannot be opened or yields no frame at all raises InputError."""

    def __init__(self, source: str | int | os.PathLike, max_bad_in_a_row: int = MAX_BAD_IN_A_ROW):
        quiet_ffmpeg()
        self.source = source
        self.max_bad = max(1, int(max_bad_in_a_row))
        self.live = isinstance(source, int) or (isinstance(source, str) and source.isdigit()) or is_stream_url(source)
        if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
            self.cap = cv2.VideoCapture(int(source))
            what = f"camera {int(source)}"
        elif is_stream_url(source):
            self.cap = cv2.VideoCapture(str(source), cv2.CAP_FFMPEG)
            what = f"stream {source}"
        else:
            path = Path(source)
            if not path.is_file():
                raise InputError(f"{path}: no such video file")
            if path.stat().st_size == 0:
                raise InputError(f"{path}: empty file (0 bytes)")
            self.cap = cv2.VideoCapture(str(path))
            what = str(path)
        if not self.cap.isOpened():
            self.cap.release()
            raise InputError(f"{what}: cannot open video (unsupported format, corrupt file, unreachable stream "
                             "or no camera)")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(fps=fps if fps and 0 < fps < 1000 else 30.0,
                              width=int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                              height=int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                              frame_count=0 if self.live else max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))))
        self.name = what
        self.truncated = False
        self.skipped_frames = 0
        self.frames_read = 0

    def read(self) -> tuple[int, np.ndarray | None]:
        """The next decodable frame as (index, RGB) or (index, None) at the end; skips bad frames."""
        bad = 0
        while bad < self.max_bad:
            ok, bgr = self.cap.read()
            if ok and bgr is not None:
                index = self.frames_read + self.skipped_frames
                self.skipped_frames += bad
                index += bad
                self.frames_read += 1
                return index, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            bad += 1
            if self.info.frame_count and self.frames_read + self.skipped_frames + bad >= self.info.frame_count:
                break   # the announced end: nothing left to read past
        return self.frames_read + self.skipped_frames, None

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        try:
            while True:
                index, rgb = self.read()
                if rgb is None:
                    break
                yield index, index / self.info.fps, rgb
        finally:
            self.close()
        self.finish()

    def finish(self) -> None:
        """After reading: raise if nothing decoded; set ``truncated``; one summary line for any damage."""
        if self.frames_read == 0:
            raise InputError(f"{self.name}: no frame could be decoded")
        seen = self.frames_read + self.skipped_frames
        if self.info.frame_count and seen < self.info.frame_count:
            self.truncated = True
        if self.skipped_frames or self.truncated:
            log.warning("%s: %d frames decoded, %d undecodable frames skipped%s", self.name, self.frames_read,
                        self.skipped_frames, f"; stopped before the announced {self.info.frame_count} frames "
                        "(truncated or damaged)" if self.truncated else "")

    def close(self) -> None:
        self.cap.release()


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
