"""One pass of the recogniser over a video source: the iterator ``EmotionRecognizer.predict_video`` returns.

The source is opened once; its metadata (``info``) is there before the first frame, and the damage report
(``skipped_frames``, ``truncated``) and, for live sources, ``dropped_frames`` once the frames are read."""

from __future__ import annotations

import os
from collections.abc import Iterator

from ferkit.inference.results import FaceResult, FrameResult
from ferkit.media.video import VideoSource


class VideoRun:
    """Iterate FrameResults (or (FrameResult, rgb) with return_frames) of one video, file, camera or URL."""

    def __init__(
        self,
        recognizer,
        source: str | int | os.PathLike,
        every_n_frames: int = 1,
        return_frames: bool = False,
        max_frames: int | None = None,
        detect_every: int = 1,
        duration: float | None = None,
        detector=None,
    ):
        self.every = max(1, int(every_n_frames))
        self.return_frames = return_frames
        self.max_frames = max_frames
        self.duration = duration
        self.stream = recognizer.stream(detect_every=detect_every, detector=detector)
        self.source = VideoSource(source)
        self.info = self.source.info
        self.live = self.source.live
        self.frames_analysed = 0
        self.frames_seen = 0
        self._reader = None
        self._gen = self._frames()

    @property
    def skipped_frames(self) -> int:
        return self.source.skipped_frames

    @property
    def truncated(self) -> bool:
        return self.source.truncated

    @property
    def dropped_frames(self) -> int:
        return self._reader.dropped_frames if self._reader is not None else 0

    def summary(self) -> dict:
        """Counts of this run (complete once iteration has ended)."""
        return {
            "fps": round(self.info.fps, 3),
            "frame_count": self.info.frame_count,
            "frames_analysed": self.frames_analysed,
            "skipped_frames": self.skipped_frames,
            "dropped_frames": self.dropped_frames,
            "truncated": self.truncated,
        }

    def _items(self) -> Iterator:
        if self.live:
            from ferkit.inference.live_reader import LatestFrameReader

            self._reader = LatestFrameReader(self.source)
            return iter(self._reader)
        return iter(self.source)

    def _frames(self) -> Iterator:
        last: list[FaceResult] = []
        items = self._items()
        try:
            for n, (index, t, rgb) in enumerate(items):
                if (self.max_frames is not None and n >= self.max_frames) or (
                    self.duration is not None and t > self.duration
                ):
                    break
                self.frames_seen = n + 1
                if n % self.every:
                    if self.return_frames:
                        yield FrameResult(index, t, last, analysed=False), rgb
                    continue
                result = self.stream.step(rgb, index=index, time=t)
                last = result.faces
                self.frames_analysed += 1
                yield (result, rgb) if self.return_frames else result
        finally:
            items.close()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def close(self) -> None:
        """Stop early and release the source."""
        self._gen.close()
        self.source.close()
