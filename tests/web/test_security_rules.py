"""The server's security rules through the app factory and HTTP, with a stand-in recogniser (quick lane: no
model, no real data): Host allow-list, Origin checks, API key, per-client quotas and upload limits. The same
rules against the real model and a running server are in test_hostile.py."""

from __future__ import annotations

import io
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from starlette.websockets import WebSocketDisconnect

from ferkit.transforms.preprocess import Preprocess
from ferkit.web import Limits, create_app

KEY = "s3cret-key-123"
SLACK = 64 * 1024  # multipart boundaries and headers allowed around a file (documented in create_app)


class StubStream:
    def step(self, rgb):
        return SimpleNamespace(faces=[])

    def reset(self):
        pass


class StubRecognizer:
    """The surface of EmotionRecognizer the server uses; finds no faces. Video jobs wait for ``gate``."""

    labels = ("neutral", "happiness")
    classifier = SimpleNamespace(arch="stub", runtime="stub", temperature=1.0, preprocess=Preprocess())
    detector = None

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()

    def predict(self, rgb, detector=None):
        return []

    def stream(self, detector=None):
        return StubStream()

    def predict_video(self, path, every_n_frames=1, max_frames=None, detector=None):
        self.gate.wait(30)
        return iter(())


def make_client(limits: dict | None = None, **options) -> TestClient:
    options.setdefault("allowed_hosts", ("testserver",))
    return TestClient(
        create_app(recognizer=StubRecognizer(), model_name="stub", limits=Limits(**(limits or {})), **options)
    )


def png(width: int = 8, height: int = 8) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> bytes:
    import cv2

    path = tmp_path_factory.mktemp("video") / "tiny.avi"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (32, 32))
    assert out.isOpened()
    for i in range(3):
        out.write(np.full((32, 32, 3), 60 * i, np.uint8))
    out.release()
    return path.read_bytes()


# ----- Host allow-list -----------------------------------------------------------------------------------------
def test_default_hosts_are_the_loopback_names_only():
    with TestClient(create_app(recognizer=StubRecognizer(), model_name="stub")) as c:
        for host in ("localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST."):
            assert c.get("/healthz", headers={"Host": host}).status_code == 200, host
        for host in ("evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "testserver", ""):
            r = c.get("/healthz", headers={"Host": host})
            assert r.status_code == 400 and r.json()["error"] == "invalid_host", host


def test_allowed_hosts_with_a_wildcard():
    with make_client(allowed_hosts=["*.example.org", "faces.lan"]) as c:
        for host, status in (
            ("api.example.org", 200),
            ("a.b.example.org:8000", 200),
            ("faces.lan:80", 200),
            ("evilexample.org", 400),
            ("example.org", 400),
            ("example.org.evil.com", 400),
            ("faces.lan.evil", 400),
            ("localhost", 400),
        ):
            assert c.get("/healthz", headers={"Host": host}).status_code == status, host


def test_a_foreign_host_is_refused_before_anything_else():
    # the Host check comes first: a refused Host learns nothing, not even that an API key is needed
    with make_client(api_key=KEY, limits={"max_image_bytes": 1000}) as c:
        big = {"file": ("x.png", b"\0" * 5000, "image/png")}
        for r in (
            c.get("/v1/models", headers={"Host": "evil.example"}),
            c.post("/v1/predict", files=big, headers={"Host": "evil.example"}),
        ):
            assert r.status_code == 400 and r.json()["error"] == "invalid_host"


def test_websocket_with_a_foreign_host_is_closed_before_accept():
    with make_client() as c:
        with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect("/v1/live", headers={"Host": "evil.example"}):
            pass
        assert e.value.code == 1008


# ----- Origin --------------------------------------------------------------------------------------------------
def test_origin_is_checked_on_uploads_and_sockets_not_on_reads():
    with make_client(allow_origins=["https://app.example"]) as c:
        upload = {"file": ("x.png", png(), "image/png")}
        r = c.post("/v1/predict", files=upload, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "origin_not_allowed"
        assert c.delete("/v1/jobs/abc", headers={"Origin": "http://evil.example"}).status_code == 403
        assert c.post("/v1/predict", files=upload, headers={"Origin": "http://testserver"}).status_code == 200
        assert c.post("/v1/predict", files=upload, headers={"Origin": "https://app.example"}).status_code == 200
        assert c.post("/v1/predict", files=upload).status_code == 200  # no browser, no Origin
        assert c.get("/v1/models", headers={"Origin": "http://evil.example"}).status_code == 200  # a read
        for origin in ("http://evil.example", "null", "https://testserver"):
            with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect("/v1/live", headers={"Origin": origin}):
                pass
            assert e.value.code == 1008, origin
        with c.websocket_connect("/v1/live", headers={"Origin": "https://app.example"}) as ws:
            assert ws.receive_json()["type"] == "hello"


def test_cors_origins_may_also_upload():
    with make_client(cors_origins=["https://ui.example"]) as c:
        upload = {"file": ("x.png", png(), "image/png")}
        assert c.post("/v1/predict", files=upload, headers={"Origin": "https://ui.example"}).status_code == 200
        assert c.post("/v1/predict", files=upload, headers={"Origin": "https://other.example"}).status_code == 403


# ----- API key -------------------------------------------------------------------------------------------------
def test_api_key_guards_the_api_and_leaves_the_page_open():
    with make_client(api_key=KEY) as c:
        r = c.get("/v1/models")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert r.headers["www-authenticate"] == "Bearer"
        for headers in (
            {"X-API-Key": "wrong-key-000"},
            {"Authorization": "Bearer wrong-key-000"},
            {"Authorization": f"Basic {KEY}"},
            {"X-API-Key": KEY[:-1]},
            {"Cookie": "ferkit_api_key=no"},
        ):
            assert c.get("/v1/models", headers=headers).status_code == 401, headers
        for headers in (
            {"X-API-Key": KEY},
            {"Authorization": f"Bearer {KEY}"},
            {"Authorization": f"bearer  {KEY} "},
            {"Cookie": f"ferkit_api_key={KEY}"},
        ):
            assert c.get("/v1/models", headers=headers).status_code == 200, headers
        assert c.get(f"/v1/models?api_key={KEY}").status_code == 200
        for path in ("/", "/healthz", "/openapi.json", "/docs"):
            assert c.get(path).status_code == 200, path
        assert c.options("/v1/predict").status_code != 401  # CORS preflights carry no credentials
        assert c.post("/v1/predict", files={"file": ("x.png", png())}).status_code == 401
        assert c.post("/v1/predict", files={"file": ("x.png", png())}, headers={"X-API-Key": KEY}).status_code == 200


def test_browser_login_sets_a_strict_cookie_and_a_wrong_key_does_not():
    with make_client(api_key=KEY) as c:
        r = c.get("/?api_key=wrong-key-000", follow_redirects=False)
        assert r.status_code == 401 and "set-cookie" not in r.headers
        r = c.get(f"/?api_key={KEY}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"ferkit_api_key={KEY};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert c.get("/v1/models").status_code == 200  # the client keeps the cookie


def test_api_key_on_the_live_websocket():
    with make_client(api_key=KEY) as c:
        with pytest.raises(WebSocketDisconnect) as e, c.websocket_connect("/v1/live"):
            pass
        assert e.value.code == 1008
        with c.websocket_connect(f"/v1/live?api_key={KEY}") as ws:
            assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize("key", ["short", "has spaces in it", ""])
def test_a_weak_api_key_is_refused_by_the_factory(key):
    if key == "":
        with make_client(api_key=key) as c:  # an empty key means no key
            assert c.get("/v1/models").status_code == 200
        return
    with pytest.raises(ValueError, match="8 or more"):
        make_client(api_key=key)


# ----- per-client quotas ---------------------------------------------------------------------------------------
def post_video(c, data: bytes, **headers):
    return c.post(
        "/v1/predict/video?every_n_frames=1", files={"file": ("v.avi", data, "video/x-msvideo")}, headers=headers
    )


def wait_done(c, job_id: str) -> None:
    deadline = time.time() + 30
    while c.get(f"/v1/jobs/{job_id}").json()["status"] in ("queued", "running") and time.time() < deadline:
        time.sleep(0.02)


def test_video_jobs_per_client_and_in_all(tiny_video):
    with make_client(limits={"max_jobs": 3, "max_jobs_per_client": 2}) as c:
        c.app.state.server.jobs.recognizer.gate.clear()  # jobs stay active until the gate opens
        try:
            first, second = post_video(c, tiny_video), post_video(c, tiny_video)
            assert first.status_code == second.status_code == 202
            r = post_video(c, tiny_video, **{"X-Forwarded-For": "10.0.0.9"})  # per address, not per header
            assert r.status_code == 429 and r.json()["error"] == "too_many_jobs"
            assert int(r.headers["Retry-After"]) >= 1
        finally:
            c.app.state.server.jobs.recognizer.gate.set()
        for r in (first, second):
            wait_done(c, r.json()["job_id"])
        assert post_video(c, tiny_video).status_code == 202  # finished jobs do not count


def test_video_jobs_over_the_server_limit_are_busy(tiny_video):
    with make_client(limits={"max_jobs": 1, "max_jobs_per_client": 5}) as c:
        c.app.state.server.jobs.recognizer.gate.clear()
        try:
            assert post_video(c, tiny_video).status_code == 202
            r = post_video(c, tiny_video)
            assert r.status_code == 503 and r.json()["error"] == "busy" and int(r.headers["Retry-After"]) >= 1
        finally:
            c.app.state.server.jobs.recognizer.gate.set()


def test_live_sessions_per_client_and_in_all():
    with make_client(limits={"max_live": 3, "max_live_per_client": 1}) as c:
        with c.websocket_connect("/v1/live") as first:
            assert first.receive_json()["type"] == "hello"
            with c.websocket_connect("/v1/live") as second:
                r = second.receive_json()
                assert r["error"] == "busy" and "per client" in r["detail"]
                assert second.receive()["code"] == 1013
        with c.websocket_connect("/v1/live") as again:  # the slot is free once closed
            assert again.receive_json()["type"] == "hello"
    with make_client(limits={"max_live": 1, "max_live_per_client": 5}) as c, c.websocket_connect("/v1/live") as first:
        assert first.receive_json()["type"] == "hello"
        with c.websocket_connect("/v1/live") as second:
            r = second.receive_json()
            assert r["error"] == "busy" and "1 live sessions" in r["detail"]


# ----- upload limits -------------------------------------------------------------------------------------------
def test_declared_body_over_the_limit_is_refused_unread():
    with make_client(limits={"max_image_bytes": 1000}) as c:
        r = c.post(
            "/v1/predict",
            content=b"x" * 10,
            headers={"Content-Length": str(1000 + SLACK + 1), "Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
        assert str(1000 + SLACK) in r.json()["detail"]


def chunked_upload(total: int):
    """A multipart upload of exactly ``total`` bytes, streamed without a Content-Length (chunked)."""
    boundary = "ferkitboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    padding = total - len(head) - len(tail)

    def body():
        yield head
        for start in range(0, padding, 8192):
            yield b"\0" * min(8192, padding - start)
        yield tail

    return body(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def test_streamed_body_over_the_limit_is_cut_off():
    """No Content-Length: the limit holds on the bytes as they arrive, to the byte."""
    limit = 1000 + SLACK
    with make_client(limits={"max_image_bytes": 1000}) as c:
        body, headers = chunked_upload(limit + 1)
        r = c.post("/v1/predict", content=body, headers=headers)
        assert r.status_code == 413 and r.json()["detail"].startswith("the request body is larger")
        body, headers = chunked_upload(limit)  # within the body limit: the image's own limit answers
        r = c.post("/v1/predict", content=body, headers=headers)
        assert r.status_code == 413 and r.json()["detail"].startswith("the image is larger than the limit of 1000")
        assert c.get("/healthz").status_code == 200


def test_image_over_its_byte_limit_inside_the_slack_is_refused():
    with make_client(limits={"max_image_bytes": 1000}) as c:
        r = c.post("/v1/predict", files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 1500)})
        assert r.status_code == 413 and "1000 bytes" in r.json()["detail"]
        assert c.post("/v1/predict", files={"file": ("x.png", png())}).status_code == 200


def test_image_pixels_over_the_limit_are_refused_before_decoding():
    with make_client(limits={"max_pixels": 100}) as c:
        assert c.post("/v1/predict", files={"file": ("x.png", png(10, 10))}).status_code == 200
        r = c.post("/v1/predict", files={"file": ("x.png", png(11, 10))})
        assert r.status_code == 413 and r.json()["error"] == "image_too_large"


@pytest.mark.parametrize(
    "data, status, code",
    [
        (b"", 422, "empty_file"),
        (b"GIF8 not really", 415, "unsupported_media_type"),
        (b"%PDF-1.4", 415, "unsupported_media_type"),
        (b"\x89PNG\r\n\x1a\n truncated", 422, "invalid_image"),
    ],
)
def test_uploads_are_typed_by_content(data, status, code):
    with make_client() as c:
        r = c.post("/v1/predict", files={"file": ("photo.png", data, "image/png")})
        assert r.status_code == status and r.json()["error"] == code


def test_video_over_its_limit_is_refused(tiny_video):
    with make_client(limits={"max_video_bytes": len(tiny_video) - 1, "max_image_bytes": 10 * len(tiny_video)}) as c:
        r = post_video(c, tiny_video)
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    with make_client(limits={"max_video_bytes": len(tiny_video)}) as c:
        assert post_video(c, tiny_video).status_code == 202


def test_live_frame_over_its_limit_closes_the_session():
    with make_client(limits={"max_frame_bytes": 1000}) as c:
        with c.websocket_connect("/v1/live") as ws:
            ws.receive_json()
            ws.send_bytes(png())
            assert ws.receive_json()["type"] == "result"
            ws.send_bytes(b"\xff\xd8\xff" + b"\0" * 1000)
            r = ws.receive_json()
            assert r["error"] == "payload_too_large" and "1000 bytes" in r["detail"]
            assert ws.receive()["code"] == 1009
        assert c.get("/healthz").json()["live_sessions"] == 0
