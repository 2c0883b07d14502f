"""The shared recogniser behind the API: loaded once, called from a small thread pool so that inference never
runs on the event loop (health checks and docs answer while faces are being analysed)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ferkit.web.errors import ApiError
from ferkit.web.limits import Limits


class InferenceService:
    """One EmotionRecognizer shared by every request; ``run(fn, ...)`` awaits ``fn`` on an inference thread.

    At most ``limits.max_pending`` calls wait or run at once; more are answered 503 with Retry-After, so an
    overload shows as a clear error instead of unbounded memory."""

    def __init__(self, recognizer, model_name: str, limits: Limits):
        self.recognizer = recognizer
        self.model_name = model_name
        self.limits = limits
        self.labels: tuple[str, ...] = tuple(recognizer.labels)
        self.executor = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="ferkit-infer")
        self._lock = threading.Lock()
        self._detectors: dict[str, object] = {}
        self.pending = 0
        self.served = 0
        self.started = time.time()

    async def run(self, fn: Callable[..., Any], *args) -> Any:
        with self._lock:
            if self.pending >= self.limits.max_pending:
                raise ApiError(
                    503,
                    "busy",
                    f"{self.pending} requests are already waiting for inference; retry shortly",
                    headers={"Retry-After": "1"},
                )
            self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)
        finally:
            with self._lock:
                self.pending -= 1
                self.served += 1

    def detector(self, name: str | None):
        """The detector a request asked for by name (built once, then shared), or None for the server's own.
        Unknown names are a 422 listing the choices."""
        if not name:
            return None
        from ferkit.faces import create_detector, list_detectors
        from ferkit.inference.recognizer import BLAZEFACE_DETECTORS

        if name not in list_detectors():
            raise ApiError(
                422, "invalid_detector", f"unknown face detector {name!r}; choose from {', '.join(list_detectors())}"
            )
        with self._lock:
            if name not in self._detectors:
                options = {"threads": 1} if name in BLAZEFACE_DETECTORS else {}
                self._detectors[name] = create_detector(name, **options)
            return self._detectors[name]

    def model_info(self) -> dict:
        clf = self.recognizer.classifier
        pre = clf.preprocess
        return {
            "name": self.model_name,
            "arch": getattr(clf, "arch", None),
            "runtime": getattr(clf, "runtime", None),
            "labels": list(self.labels),
            "temperature": float(getattr(clf, "temperature", 1.0)),
            "input": {
                "crop_size": int(pre.source_size),
                "input_size": int(pre.input_size),
                "channels": int(pre.in_chans),
            },
            "detector": type(self.recognizer.detector).__name__,
        }

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
