"""Live sources (cameras, stream URLs) read on their own thread, newest frame only: when analysis is slower
than the source, frames are dropped (and counted) instead of queueing up and falling ever further behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from ferkit.media.video import VideoSource


class LatestFrameReader:
    """Iterate (index, time_s, rgb) over the newest frames of ``source``; ``dropped_frames`` counts the frames
    decoded but overtaken by a newer one before the consumer asked. time_s is seconds since the first frame."""

    def __init__(self, source: VideoSource):
        self.source = source
        self.dropped_frames = 0
        self._latest: tuple[int, float, np.ndarray] | None = None
        self._cond = threading.Condition()
        self._done = False
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ferkit-live-reader", daemon=True)

    def _run(self) -> None:
        t0 = None
        try:
            while not self._stop.is_set():
                index, rgb = self.source.read()
                if rgb is None:
                    break
                now = time.monotonic()
                t0 = now if t0 is None else t0
                with self._cond:
                    if self._latest is not None:
                        self.dropped_frames += 1
                    self._latest = (index, now - t0, rgb)
                    self._cond.notify()
        except BaseException as e:  # handed to the consumer thread
            self._error = e
        finally:
            with self._cond:
                self._done = True
                self._cond.notify()

    def __iter__(self) -> Iterator[tuple[int, float, np.ndarray]]:
        self._thread.start()
        try:
            while True:
                with self._cond:
                    while self._latest is None and not self._done:
                        self._cond.wait()
                    item, self._latest = self._latest, None
                if item is None:
                    break
                yield item
        finally:
            self._stop.set()
            self._thread.join(timeout=5)
            self.source.close()
        if self._error is not None:
            raise self._error
        self.source.finish()
