"""A tiny MJPEG (multipart/x-mixed-replace) HTTP server on 127.0.0.1 for live-source tests."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                         + f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
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
