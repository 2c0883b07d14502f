"""Video input and output with OpenCV: frames come out as RGB uint8; damaged files are read past.

``VideoSource`` opens a file, a camera index or a stream URL (rtsp://, http(s):// MJPEG, anything OpenCV's
FFmpeg reads) once and reports what the whole run needs: fps, size, announced frame count, and after reading
``skipped_frames`` (undecodable frames read past) and ``truncated`` (stopped before the announced end).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import MediaError, OutputError
from ferkit.io_utils import replace_with, resolve_target
from ferkit.media.images import not_a_file

log = logging.getLogger(__name__)
URL_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
# After this many undecodable frames in a row the file is taken to end (or to be damaged beyond use).
MAX_BAD_IN_A_ROW = 25


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
    frame_count: int  # as reported by the container; 0 for cameras, streams and unknown


class VideoSource:
    """Iterate (index, time_s, rgb) over a video file, camera index or stream URL. Undecodable frames are
    skipped (counted in ``skipped_frames``; indices and times still count them); reading stops at the end or
    after MAX_BAD_IN_A_ROW bad frames in a row; stopping before the announced frame count sets ``truncated``.
    A source that cannot be opened or yields no frame at all raises MediaError."""

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
                raise MediaError(not_a_file(path, "a video"), "missing")
            if path.stat().st_size == 0:
                raise MediaError(f"{path}: empty file (0 bytes)", "empty")
            self.cap = cv2.VideoCapture(str(path))
            what = str(path)
        if not self.cap.isOpened():
            self.cap.release()
            raise MediaError(
                f"{what}: cannot open video (unsupported format, corrupt file, unreachable stream or no camera)",
                "unsupported",
            )
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.info = VideoInfo(
            fps=fps if fps and 0 < fps < 1000 else 30.0,
            width=int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            frame_count=0 if self.live else max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT))),
        )
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
                break  # the announced end: nothing left to read past
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
            raise MediaError(f"{self.name}: no frame could be decoded", "corrupt")
        seen = self.frames_read + self.skipped_frames
        if self.info.frame_count and seen < self.info.frame_count:
            self.truncated = True
        if self.skipped_frames or self.truncated:
            log.warning(
                "%s: %d frames decoded, %d undecodable frames skipped%s",
                self.name,
                self.frames_read,
                self.skipped_frames,
                f"; stopped before the announced {self.info.frame_count} frames (truncated or damaged)"
                if self.truncated
                else "",
            )

    def close(self) -> None:
        self.cap.release()


class VideoWriter:
    """Annotated video output (mp4v), written to a temporary file next to the target and renamed over it only
    when closed and read back whole, so a failed write (disk full, codec missing, unwritable folder) raises
    OutputError naming the file and never leaves a broken video under the final name."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        self.path = resolve_target(path)  # a symlink is written through; devices and FIFOs are refused
        self.frames = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(self._temp_path())
        except OSError as e:
            raise OutputError(f"{self.path}: cannot write ({e.strerror or e})") from None
        self.writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self.writer.isOpened():
            self.discard()
            raise OutputError(
                f"{self.path}: cannot open a video writer (mp4v codec missing from this OpenCV, "
                "or the folder is not writable)"
            )

    def _temp_path(self) -> str:
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.stem}.", suffix=f".tmp{self.path.suffix or '.mp4'}"
        )  # OpenCV picks the container by suffix
        os.close(fd)
        return tmp

    def write(self, rgb: np.ndarray) -> None:
        self.writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def close(self) -> Path:
        """Finish the file, check that every frame reads back, then rename it over the target."""
        self.writer.release()
        try:
            readable = _frames_readable(self.tmp)
            if readable != self.frames:
                raise OutputError(
                    f"{self.path}: cannot write the video: the finished file holds {readable} of the "
                    f"{self.frames} frames written{_disk_problem(self.path.parent)}"
                )
            replace_with(self.tmp, self.path)
        except OSError as e:
            raise OutputError(f"{self.path}: cannot write ({e.strerror or e})") from None
        finally:
            self.discard()
        return self.path

    def discard(self) -> None:
        """Drop the temporary file (the target is left as it was)."""
        if hasattr(self, "writer"):
            self.writer.release()
        if os.path.lexists(self.tmp):
            os.unlink(self.tmp)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.close()
        else:
            self.discard()


def _frames_readable(path: Path) -> int:
    """Frames an mp4 announces when read back (0 if it does not open: an mp4 cut short lacks its index)."""
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    cap = cv2.VideoCapture(str(path))
    try:
        return max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))) if cap.isOpened() else 0
    finally:
        cap.release()


def _disk_problem(folder: Path) -> str:
    """' (No space left on device)' if a small write to ``folder`` fails now, else '' (OpenCV reports no errno)."""
    try:
        with tempfile.TemporaryFile(dir=folder) as f:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return f" ({e.strerror or e})"
    return ""
