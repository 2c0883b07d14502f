"""Inference test fixtures: the classifier (the shipped default when installed, else a tiny model made here), a
short real clip, and a local MJPEG server for live-source tests."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture(scope="session")
def recognizer(model_ref):
    from ferkit import EmotionRecognizer

    return EmotionRecognizer(model=model_ref, threads=1)


@pytest.fixture(scope="session")
def short_clip(samples_dir, tmp_path_factory):
    """The first 12 frames of video_01.mp4, re-encoded (keeps video tests fast)."""
    import cv2

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    cap = cv2.VideoCapture(str(samples_dir / "video" / "video_01.mp4"))
    out = None
    for _ in range(12):
        ok, frame = cap.read()
        assert ok
        if out is None:
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (frame.shape[1], frame.shape[0]))
        out.write(frame)
    out.release()
    cap.release()
    return path


@pytest.fixture(scope="session")
def clip_results(recognizer, short_clip):
    """``recognizer.predict_video(short_clip)`` once, as a list of FrameResults (read-only: tests share it)."""
    return list(recognizer.predict_video(short_clip))


class MjpegServer:
    """Serves ``frames`` (JPEG bytes), looping, at ``fps`` on http://127.0.0.1:PORT/stream.mjpg until stopped."""

    def __init__(self, frames: list[bytes], fps: float = 30.0):
        self.frames, self.fps = frames, fps
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                i = 0
                try:
                    while not outer.stop.is_set():
                        data = outer.frames[i % len(outer.frames)]
                        self.wfile.write(
                            b"--frame\r\nContent-Type: image/jpeg\r\n"
                            + f"Content-Length: {len(data)}\r\n\r\n".encode()
                            + data
                            + b"\r\n"
                        )
                        i += 1
                        time.sleep(1.0 / outer.fps)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.mjpg"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def mjpeg_server():
    """The MjpegServer class: ``with mjpeg_server(jpeg_frames, fps) as server: server.url``."""
    return MjpegServer
