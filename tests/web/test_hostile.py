"""A hostile client against the service: foreign Host and Origin headers, idle and greedy live sessions,
over-size frames, job floods, missing API keys, slow uploads, incomplete headers and half-open connections.
In-process cases use FastAPI's TestClient; the timeout cases need a real `ferkit serve` (short timeouts)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from ferkit.cli.main import main
from ferkit.web import Limits, create_app

TEST_HOSTS = ("testserver",)  # FastAPI's TestClient sends this Host
SMALL_LIMITS = dict(max_image_bytes=2 * 1024 * 1024, max_video_bytes=4 * 1024 * 1024, max_frame_bytes=512 * 1024)


def make_client(recognizer, **options) -> TestClient:
    limits = Limits(**{**SMALL_LIMITS, **options.pop("limits", {})})
    options.setdefault("allowed_hosts", TEST_HOSTS)
    return TestClient(create_app(recognizer=recognizer, model_name="test-model", limits=limits, **options))


def live_sessions(c: TestClient) -> int:
    return c.get("/healthz").json()["live_sessions"]


# ----- Host and Origin -----------------------------------------------------------------------------------------
def test_foreign_host_is_refused(web_recognizer):
    with TestClient(create_app(recognizer=web_recognizer, model_name="m")) as c:  # the defaults
        r = c.get("/v1/models", headers={"Host": "evil.example"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_host"
        r = c.get("/", headers={"Host": "evil.example:8000"})
        assert r.status_code == 400 and "evil.example" not in r.text.split("allowed")[1]
        for host in ("localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"):
            assert c.get("/healthz", headers={"Host": host}).status_code == 200, host
        with pytest.raises(WebSocketDisconnect) as e:  # TestClient's WebSocket Host is 'testserver'
            with c.websocket_connect("/v1/live"):
                pass
        assert e.value.code == 1008
    with make_client(web_recognizer, allowed_hosts=["*.example.org", "faces.lan"]) as c:
        assert c.get("/healthz", headers={"Host": "api.example.org"}).status_code == 200
        assert c.get("/healthz", headers={"Host": "faces.lan:80"}).status_code == 200
        assert c.get("/healthz", headers={"Host": "example.org.evil.com"}).status_code == 400


def test_live_websocket_is_same_origin_by_default(web_recognizer):
    with make_client(web_recognizer, allow_origins=["https://app.example"]) as c:
        for origin in ("http://evil.example", "null", "http://testserver.evil.example", "https://testserver"):
            with pytest.raises(WebSocketDisconnect) as e:
                with c.websocket_connect("/v1/live", headers={"Origin": origin}):
                    pass
            assert e.value.code == 1008, origin
        for origin in ("http://testserver", "https://app.example", None):  # own page, allowed, no browser
            with c.websocket_connect("/v1/live", headers={"Origin": origin} if origin else {}) as ws:
                assert ws.receive_json()["type"] == "hello"
        r = c.post("/v1/predict", headers={"Origin": "http://evil.example"}, files={"file": ("x.jpg", b"x")})
        assert r.status_code == 403 and r.json()["error"] == "origin_not_allowed"
        assert live_sessions(c) == 0


# ----- live sessions -------------------------------------------------------------------------------------------
def test_idle_live_sessions_are_closed(web_recognizer):
    with make_client(web_recognizer, limits={"live_idle_s": 0.5}) as c:
        with c.websocket_connect("/v1/live") as ws:
            assert ws.receive_json()["type"] == "hello"
            t0 = time.monotonic()
            ws.send_text(json.dumps({"type": "ping"}))  # pings do not keep a slot
            assert ws.receive_json()["type"] == "pong"
            r = ws.receive_json()
            assert r["error"] == "idle_timeout" and 0.4 < time.monotonic() - t0 < 5
            assert ws.receive()["code"] == 1000
        assert live_sessions(c) == 0


def test_live_sessions_per_client_are_limited(web_recognizer):
    with make_client(web_recognizer, limits={"max_live": 4, "max_live_per_client": 2}) as c:
        with c.websocket_connect("/v1/live") as a, c.websocket_connect("/v1/live") as b:
            assert a.receive_json()["type"] == b.receive_json()["type"] == "hello"
            with c.websocket_connect("/v1/live") as third:
                r = third.receive_json()
                assert r["error"] == "busy" and "per client" in r["detail"]
                assert third.receive()["code"] == 1013
            assert live_sessions(c) == 2
        assert live_sessions(c) == 0


def test_over_size_frame_gets_json_error_then_clean_close(web_recognizer):
    with make_client(web_recognizer) as c:
        with c.websocket_connect("/v1/live") as ws:
            ws.receive_json()
            ws.send_bytes(b"\xff\xd8\xff" + b"\0" * SMALL_LIMITS["max_frame_bytes"])
            r = ws.receive_json()
            assert r["type"] == "error" and r["error"] == "payload_too_large"
            assert ws.receive()["code"] == 1009
        assert live_sessions(c) == 0  # the slot is free at once


# ----- video jobs ----------------------------------------------------------------------------------------------
def post_video(c, path, wait=True, **headers):
    with open(path, "rb") as f:
        return c.post(
            f"/v1/predict/video?every_n_frames=6&wait={str(wait).lower()}",
            files={"file": ("clip.mp4", f, "video/mp4")},
            headers=headers,
        )


def test_finished_jobs_never_block_new_ones(web_recognizer, clip_mp4):
    with make_client(web_recognizer, limits={"max_jobs": 2, "max_results": 3}) as c:
        ids = []
        for _ in range(6):  # three times the job limit, one after the other
            r = post_video(c, clip_mp4)
            assert r.status_code == 200 and r.json()["status"] == "done", r.text
            ids.append(r.json()["job_id"])
        assert [c.get(f"/v1/jobs/{i}").status_code for i in ids] == [404] * 3 + [200] * 3  # bounded store
        assert c.get("/healthz").json()["jobs"]["done"] == 3


def test_job_quota_and_truthful_retry_after(web_recognizer, clip_mp4):
    with make_client(web_recognizer, limits={"max_jobs": 2, "max_jobs_per_client": 1}) as c:
        jobs = c.app.state.server.jobs
        gate = threading.Event()
        jobs.executor.submit(gate.wait, 60)  # the job thread is busy: new jobs stay queued
        try:
            first = post_video(c, clip_mp4, wait=False)
            assert first.status_code == 202
            r = post_video(c, clip_mp4, wait=False)
            assert r.status_code == 429 and r.json()["error"] == "too_many_jobs"
            per_frame, frames = jobs.s_per_frame, 12 / 6  # queued: frames to analyse x seconds per frame
            assert int(r.headers["Retry-After"]) == max(1, round(frames * per_frame + 0.4999))
            other = {"X-Forwarded-For": "ignored"}  # the quota is per connection address, not per header
            assert post_video(c, clip_mp4, wait=False, **other).status_code == 429
        finally:
            gate.set()
        deadline = time.time() + 60
        while c.get(f"/v1/jobs/{first.json()['job_id']}").json()["status"] != "done" and time.time() < deadline:
            time.sleep(0.1)
        assert post_video(c, clip_mp4).status_code == 200  # the quota counts active jobs only


def test_retry_after_follows_the_running_jobs_progress(web_recognizer, tmp_path):
    from ferkit.web.jobs import Job, VideoProbe

    with make_client(web_recognizer) as c:
        jobs = c.app.state.server.jobs
        probe = VideoProbe(fps=30.0, width=320, height=240, frame_count=600)
        running = Job(
            id="a",
            path=tmp_path / "a",
            probe=probe,
            every_n_frames=1,
            frames_total=600,
            status="running",
            frames_done=150,
            started=time.time() - 10.0,
        )
        queued = Job(id="b", path=tmp_path / "b", probe=probe, every_n_frames=2, frames_total=600)
        jobs.jobs.update(a=running, b=queued)
        try:
            assert jobs.retry_after([running]) in (30, 31)  # a quarter done in 10 s: 30 s left
            expected = 30 + 300 * jobs.s_per_frame  # then the queued one: 300 frames to analyse
            assert abs(jobs.retry_after([queued]) - expected) <= 1.5
        finally:
            jobs.jobs.clear()


# ----- API key -------------------------------------------------------------------------------------------------
def test_api_key_is_required_when_set(web_recognizer, group_jpeg):
    key = "s3cret-key-123"
    with make_client(web_recognizer, api_key=key) as c:
        r = c.get("/v1/models")
        assert r.status_code == 401 and r.json()["error"] == "unauthorized" and r.headers["www-authenticate"]
        assert c.get("/v1/models", headers={"X-API-Key": "wrong-key-000"}).status_code == 401
        assert c.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert c.get("/v1/models", headers={"X-API-Key": key}).status_code == 200
        assert c.get("/healthz").status_code == 200 and c.get("/").status_code == 200  # page + liveness open
        with pytest.raises(WebSocketDisconnect) as e:
            with c.websocket_connect("/v1/live"):
                pass
        assert e.value.code == 1008
        with c.websocket_connect("/v1/live", headers={"X-API-Key": key}) as ws:
            assert ws.receive_json()["type"] == "hello"
        login = c.get(f"/?api_key={key}", follow_redirects=False)  # a browser logs in once ...
        assert login.status_code == 303 and "SameSite=Strict" in login.headers["set-cookie"]
        r = c.post("/v1/predict", files={"file": ("g.jpg", group_jpeg.read_bytes())})  # ... then uses the cookie
        assert r.status_code == 200, r.text


def test_serve_needs_a_key_off_loopback(monkeypatch, capsys):
    monkeypatch.delenv("FERKIT_API_KEY", raising=False)
    started = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: started.append(kw))
    monkeypatch.setattr("ferkit.web.app.create_app", lambda *a, **kw: started.append(kw) or object())
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--api-key" in capsys.readouterr().err and not started
    assert main(["serve", "--host", "192.168.1.5", "--api-key", "short"]) == 2  # too short to be a key
    monkeypatch.setenv("FERKIT_API_KEY", "from-the-environment")
    assert main(["serve", "--host", "192.168.1.5"]) == 0
    app_options, server_options = started
    assert app_options["api_key"] == "from-the-environment"
    assert "192.168.1.5" in app_options["allowed_hosts"] and "localhost" in app_options["allowed_hosts"]
    assert server_options["host"] == "192.168.1.5" and server_options["http"].__name__ == "HeaderTimeoutProtocol"
    monkeypatch.delenv("FERKIT_API_KEY")
    assert main(["serve", "--host", "0.0.0.0", "--insecure", "--allowed-host", "faces.lan"]) == 0
    assert "faces.lan" in started[2]["allowed_hosts"] and started[2]["api_key"] is None


# ----- small -----------------------------------------------------------------------------------------------------
def test_decompression_bomb_upload_quotes_the_servers_limit(client):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    huge = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 10_000, 10_000, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )  # 10^8 pixels announced
    r = client.post("/v1/predict", files={"file": ("b.png", huge)})
    body = r.json()
    assert r.status_code == 413 and body["error"] == "image_too_large"
    assert f"limit of {client.app.state.server.settings.limits.max_pixels} pixels" in body["detail"]
    assert "89478485" not in body["detail"] and "DOS" not in body["detail"]


# ----- slow and half-open clients (a real server) ----------------------------------------------------------------
@pytest.fixture(scope="module")
def strict_server(web_model, serve_process, tmp_path_factory):
    port = serve_process.free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    proc = serve_process.start(
        web_model,
        port,
        log,
        "--header-timeout",
        "1",
        "--body-timeout",
        "1",
        "--min-upload-rate",
        "16",
        "--live-idle-timeout",
        "1",
    )
    yield port
    serve_process.stop(proc)


def closed_within(sock: socket.socket, seconds: float) -> tuple[bool, bytes]:
    """Whether the server closes ``sock`` within ``seconds``; and what it sent before closing."""
    sock.settimeout(0.2)
    got, deadline = b"", time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True, got
        if not chunk:
            return True, got
        got += chunk
    return False, got


def test_incomplete_headers_are_dropped(strict_server):
    with socket.create_connection(("127.0.0.1", strict_server)) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and never the blank line
        t0 = time.monotonic()
        closed, _ = closed_within(s, 6)
        assert closed and time.monotonic() - t0 < 4


def test_slow_upload_is_dropped(strict_server):
    with socket.create_connection(("127.0.0.1", strict_server)) as s:
        s.sendall(
            b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
            b"boundary=xx\r\nContent-Length: 100000\r\n\r\n--xx\r\n"
        )
        t0 = time.monotonic()
        answer = b""
        while time.monotonic() - t0 < 8:  # 50 bytes per second
            try:
                s.sendall(b"a" * 50)
            except (BrokenPipeError, ConnectionResetError):
                break
            closed, got = closed_within(s, 1.0)
            answer += got
            if closed:
                break
        assert b" 408 " in answer.split(b"\r\n")[0] and b"request_timeout" in answer
        assert time.monotonic() - t0 < 6


def test_half_open_connections_are_dropped_and_others_served(strict_server, group_jpeg):
    socks = [socket.create_connection(("127.0.0.1", strict_server)) for _ in range(200)]
    try:
        r = httpx.post(
            f"http://127.0.0.1:{strict_server}/v1/predict",
            timeout=30,
            files={"file": ("g.jpg", group_jpeg.read_bytes())},
        )
        assert r.status_code == 200
        t0 = time.monotonic()
        assert all(closed_within(s, max(0.1, 5 - (time.monotonic() - t0)))[0] for s in socks)
    finally:
        for s in socks:
            s.close()
    # a keep-alive client that goes quiet between requests is not a problem: its next request is served
    with httpx.Client(base_url=f"http://127.0.0.1:{strict_server}", timeout=10) as http:
        assert http.get("/healthz").status_code == 200
        time.sleep(0.5)
        assert http.get("/healthz").status_code == 200


def test_idle_websockets_do_not_hold_live_slots(strict_server):
    import websockets

    async def scenario():
        url = f"ws://127.0.0.1:{strict_server}/v1/live"
        idle = [await websockets.connect(url, max_size=None) for _ in range(2)]  # the per-client limit
        for ws in idle:
            assert json.loads(await ws.recv())["type"] == "hello"
        for ws in idle:
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["error"] == "idle_timeout"
        async with websockets.connect(url) as fresh:  # the slots are free again
            assert json.loads(await fresh.recv())["type"] == "hello"
        with pytest.raises(websockets.InvalidStatus) as e:  # a foreign page's handshake is refused
            await websockets.connect(url, origin="http://evil.example")
        assert e.value.response.status_code == 403

    asyncio.run(scenario())


def test_huge_frame_frees_its_slot_at_once(strict_server):
    import websockets

    async def scenario():
        url = f"ws://127.0.0.1:{strict_server}/v1/live"
        async with websockets.connect(url, max_size=None, compression=None) as ws:  # no time lost compressing
            await ws.recv()
            with pytest.raises(websockets.ConnectionClosed) as closed:  # over the server's WebSocket cap
                await ws.send(b"\xff\xd8\xff" + os.urandom(20 * 1024 * 1024))
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        t0 = time.monotonic()
        while httpx.get(f"http://127.0.0.1:{strict_server}/healthz").json()["live_sessions"]:
            assert time.monotonic() - t0 < 1.5, "the slot is still held"
            await asyncio.sleep(0.05)

    asyncio.run(scenario())
