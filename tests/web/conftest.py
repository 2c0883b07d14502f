"""Fixtures of the web tests: a model (the shipped default when installed, else a tiny one made here), an app
with small limits in a TestClient, sample uploads, and a real `ferkit serve` process for browser and load tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: real-browser end-to-end test (headless Chromium)")


@pytest.fixture(scope="session")
def web_model(request) -> str:
    """FERKIT_WEB_MODEL if set (e.g. a trained checkpoint, for meaningful screenshots), else ``model_ref`` (the
    shipped default, else a tiny untrained model made here)."""
    if os.environ.get("FERKIT_WEB_MODEL"):
        return os.environ["FERKIT_WEB_MODEL"]
    return request.getfixturevalue("model_ref")


@pytest.fixture(scope="session")
def web_recognizer(web_model):
    from ferkit import EmotionRecognizer

    return EmotionRecognizer(model=web_model, threads=1)


TEST_HOSTS = ("testserver",)  # the Host of FastAPI's TestClient; create_app serves loopback names by default
SMALL_LIMITS = dict(max_image_bytes=2 * 1024 * 1024, max_video_bytes=4 * 1024 * 1024, max_frame_bytes=512 * 1024)


@pytest.fixture(scope="session")
def app(web_recognizer):
    from ferkit.web import Limits, create_app

    return create_app(
        recognizer=web_recognizer, model_name="test-model", limits=Limits(**SMALL_LIMITS), allowed_hosts=TEST_HOSTS
    )


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def group_jpeg(samples_dir) -> Path:
    return samples_dir / "images" / "group.jpeg"


@pytest.fixture(scope="session")
def clip_mp4(samples_dir, tmp_path_factory) -> Path:
    """The first 12 frames of video_01.mp4 at 320x240, re-encoded (keeps video tests fast)."""
    return _clip(samples_dir / "video" / "video_01.mp4", tmp_path_factory.mktemp("clip") / "clip.mp4", 12)


@pytest.fixture(scope="session")
def clip_webm(samples_dir, tmp_path_factory) -> Path:
    """24 frames of video_01.mp4 (every second one: 15 fps, 1.6 s) at 320x240 as VP8 WebM, a format every
    Chromium plays (the browser test draws the results over the playing video)."""
    return _clip(
        samples_dir / "video" / "video_01.mp4",
        tmp_path_factory.mktemp("clip") / "clip.webm",
        24,
        fourcc="VP80",
        fps=15.0,
        step=2,
    )


def _clip(src: Path, dst: Path, n: int, size=(320, 240), fourcc="mp4v", fps=30.0, step=1) -> Path:
    import cv2

    cap = cv2.VideoCapture(str(src))
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    assert out.isOpened(), f"OpenCV cannot write {fourcc} video"
    for i in range(n * step):
        ok, frame = cap.read()
        assert ok, f"{src}: fewer than {n * step} frames"
        if i % step == 0:
            out.write(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
    out.release()
    cap.release()
    return dst


@pytest.fixture(scope="session")
def webcam_y4m(samples_dir, tmp_path_factory) -> Path:
    """A Y4M clip for Chromium's fake webcam (--use-file-for-fake-video-capture), made from video_01.mp4:
    320x240, 15 fps, 3 s (every second source frame), 4:2:0."""
    import cv2

    path = tmp_path_factory.mktemp("webcam") / "webcam.y4m"
    w, h = 320, 240
    cap = cv2.VideoCapture(str(samples_dir / "video" / "video_01.mp4"))
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F15:1 Ip A1:1 C420jpeg\n".encode())
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index % 2 == 0:
                small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
                f.write(b"FRAME\n")
                f.write(np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2YUV_I420)).tobytes())
            index += 1
    cap.release()
    assert path.stat().st_size > w * h
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, port: int, log_path: Path, *extra: str) -> subprocess.Popen:
    """`ferkit serve` in a child process; returns once /healthz answers."""
    import httpx

    cmd = [
        sys.executable,
        "-m",
        "ferkit.cli.main",
        "serve",
        "--model",
        model,
        "--port",
        str(port),
        "--threads",
        "1",
        "--log-level",
        "warning",
        *extra,
    ]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ferkit serve exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"ferkit serve did not answer within 120 s: {log_path.read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def serve_process():
    """start_server / stop_server / free_port, for tests that run their own `ferkit serve` with options."""
    from types import SimpleNamespace

    return SimpleNamespace(start=start_server, stop=stop_server, free_port=free_port)


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ort_web_dir() -> Path | None:
    """onnxruntime-web installed by scripts/setup_browser.sh (or FERKIT_ORT_WEB), for the in-browser mode."""
    from ferkit.web.browser_model import find_ort_dist

    return find_ort_dist(os.environ.get("FERKIT_ORT_WEB") or REPO / ".cache" / "web-vendor")


@pytest.fixture(scope="module")
def live_server(web_model, ort_web_dir, tmp_path_factory):
    """A real `ferkit serve` on 127.0.0.1 and a free port (in-browser mode on when onnxruntime-web is
    installed): its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    extra = ("--ort-web", str(ort_web_dir)) if ort_web_dir else ()
    proc = start_server(web_model, port, log, *extra)
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Where browser screenshots go: $FERKIT_ARTIFACTS/web if set, else a pytest temporary folder."""
    root = os.environ.get("FERKIT_ARTIFACTS")
    path = Path(root) / "web" if root else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path
