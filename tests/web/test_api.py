"""API tests through FastAPI's TestClient: every endpoint, and every bad input answered by a clear 4xx JSON
error with the service still answering afterwards."""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.realdata


def assert_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "detail"} and body["detail"], body
    if code:
        assert body["error"] == code, body
    return body


def assert_still_up(client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


def post_image(client, data: bytes, name: str = "x.jpg", field: str = "file", ctype: str = "image/jpeg"):
    return client.post("/v1/predict", files={field: (name, data, ctype)})


# ----- service endpoints ---------------------------------------------------------------------------------------
def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["model"] == "test-model"
    assert {"pending", "served", "jobs", "live_sessions", "uptime_s"} <= set(body)


def test_models_reports_the_models_own_labels(client, web_recognizer):
    body = client.get("/v1/models").json()
    assert body["loaded"]["labels"] == list(web_recognizer.labels)
    assert body["loaded"]["input"]["crop_size"] == web_recognizer.crop_size
    assert isinstance(body["shipped"], list)


def test_openapi_and_docs_are_served_locally(client):
    spec = client.get("/openapi.json").json()
    for path in ("/v1/predict", "/v1/predict/video", "/v1/models", "/healthz", "/v1/jobs/{job_id}"):
        assert path in spec["paths"], path
    page = client.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    if "/docs-assets/" in page.text:  # swagger-ui-bundle installed: no CDN either
        assert "cdn." not in page.text
        assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200


# ----- images --------------------------------------------------------------------------------------------------
def test_predict_group_photo(client, group_jpeg, web_recognizer):
    r = post_image(client, group_jpeg.read_bytes(), "group.jpeg")
    assert r.status_code == 200, r.text
    body = r.json()
    labels = list(web_recognizer.labels)
    assert body["labels"] == labels
    assert body["image"]["format"] == "jpeg" and body["image"]["width"] > 0
    assert len(body["faces"]) >= 3
    for face in body["faces"]:
        x1, y1, x2, y2 = face["box"]
        assert 0 <= x1 < x2 <= body["image"]["width"] + 1 and 0 <= y1 < y2 <= body["image"]["height"] + 1
        assert list(face["probabilities"]) == labels
        assert abs(sum(face["probabilities"].values()) - 1) < 1e-2
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
        assert face["probability"] == pytest.approx(face["probabilities"][face["label"]], abs=1e-4)
    # the same as the library call: one inference path
    direct = web_recognizer.predict(str(group_jpeg))
    assert [f["label"] for f in body["faces"]] == [f.label for f in direct]


def test_file_name_and_content_type_are_not_trusted(client, group_jpeg):
    png = io.BytesIO()
    Image.open(group_jpeg).save(png, "PNG")
    r = post_image(client, png.getvalue(), name="photo.jpg", ctype="application/octet-stream")
    assert r.status_code == 200 and r.json()["image"]["format"] == "png"
    body = assert_error(
        post_image(client, b"#!/bin/sh\necho hi\n" * 20, name="evil.jpg"), 415, "unsupported_media_type"
    )
    assert "content" in body["detail"]
    assert_still_up(client)


def test_image_without_faces(client):
    data = io.BytesIO()
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(data, "PNG")
    r = post_image(client, data.getvalue(), "blank.png")
    assert r.status_code == 200 and r.json()["faces"] == []


@pytest.mark.parametrize(
    "case",
    ["non_image", "truncated_jpeg", "zero_bytes", "50_megapixels", "oversized", "wrong_field", "no_body", "text_field"],
)
def test_bad_image_inputs(client, group_jpeg, case):
    jpeg = group_jpeg.read_bytes()
    if case == "non_image":
        assert_error(post_image(client, b"hello, this is plain text\n" * 10, "notes.jpg"), 415)
    elif case == "truncated_jpeg":
        body = assert_error(post_image(client, jpeg[: len(jpeg) // 2]), 422, "invalid_image")
        assert "truncated" in body["detail"]
    elif case == "zero_bytes":
        assert_error(post_image(client, b""), 422, "empty_file")
    elif case == "50_megapixels":
        big = io.BytesIO()
        Image.new("L", (8000, 6250), 128).save(big, "JPEG", quality=20)  # 50 MP, a few hundred kB
        assert len(big.getvalue()) < 2 * 1024 * 1024
        t = time.perf_counter()
        body = assert_error(post_image(client, big.getvalue(), "huge.jpg"), 413, "image_too_large")
        assert "8000x6250" in body["detail"]
        assert time.perf_counter() - t < 5  # refused from the header, not decoded
    elif case == "oversized":
        body = assert_error(post_image(client, b"\xff\xd8\xff" + os.urandom(3 * 1024 * 1024)), 413, "payload_too_large")
        assert "bytes" in body["detail"]
    elif case == "wrong_field":
        body = assert_error(post_image(client, jpeg, field="image"), 422, "invalid_request")
        assert "'file'" in body["detail"]
    elif case == "no_body":
        assert_error(client.post("/v1/predict"), 422, "invalid_request")
    elif case == "text_field":
        assert_error(client.post("/v1/predict", data={"file": "not a file"}), 422, "invalid_request")
    assert_still_up(client)


def test_chunked_upload_over_the_limit_is_cut_off(client):
    """No Content-Length (chunked): the limit is enforced on the bytes as they arrive."""
    boundary = "ferkitboundary"

    def body():
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode() + b"\xff\xd8\xff"
        for _ in range(40):
            yield b"\0" * (128 * 1024)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post(
        "/v1/predict", content=body(), headers={"content-type": f"multipart/form-data; boundary={boundary}"}
    )
    assert_error(r, 413, "payload_too_large")
    assert_still_up(client)


def test_unknown_paths_and_methods_are_json(client):
    assert_error(client.get("/v1/nothing"), 404, "not_found")
    assert_error(client.get("/v1/predict"), 405, "method_not_allowed")
    assert_error(client.get("/static/..%2f..%2fapp.py"), 404)
    assert_error(client.get("/static/secret.txt"), 404)


# ----- video jobs ----------------------------------------------------------------------------------------------
def wait_for_job(client, url: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(url).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job not finished within {timeout} s: {job}")


def test_video_job_reports_progress_timeline_and_summary(client, clip_mp4, web_recognizer, app):
    r = client.post("/v1/predict/video?every_n_frames=2", files={"file": ("clip.bin", clip_mp4.read_bytes())})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running", "done") and r.headers["location"] == job["status_url"]
    assert job["status_url"] == f"/v1/jobs/{job['job_id']}"
    job = wait_for_job(client, job["status_url"])
    assert job["status"] == "done", job
    assert job["progress"]["fraction"] == 1.0 and job["progress"]["frames_done"] == 12
    res = job["result"]
    assert res["labels"] == list(web_recognizer.labels)
    assert res["video"]["every_n_frames"] == 2 and res["video"]["frames_analysed"] == 6
    assert [f["frame"] for f in res["frames"]] == [0, 2, 4, 6, 8, 10]
    assert res["tracks"], "the clip shows several faces"
    for track in res["tracks"]:
        assert track["timeline"] and len(track["timeline"]) == track["frames"]
        assert track["label"] in res["labels"] and list(track["probabilities"]) == res["labels"]
        assert [p["frame"] for p in track["timeline"]] == sorted(p["frame"] for p in track["timeline"])
    assert res["summary"]["tracks"] == len(res["tracks"])
    assert sum(res["summary"]["label_counts"].values()) == res["summary"]["face_frames"] > 0
    # the upload was deleted from the private temporary folder once analysed
    tmpdir = Path(app.state.server.tmpdir)
    assert tmpdir.is_relative_to(Path(tempfile.gettempdir()).resolve()) or tmpdir.is_relative_to(
        Path(tempfile.gettempdir())
    )
    assert list(tmpdir.iterdir()) == []


def test_video_wait_returns_the_finished_job(client, clip_mp4):
    r = client.post("/v1/predict/video", params={"wait": "true"}, files={"file": ("c.mp4", clip_mp4.read_bytes())})
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert r.json()["result"]["video"]["every_n_frames"] == 3  # default: about 10 analysed frames per second


@pytest.mark.parametrize(
    "case",
    ["unsupported_codec", "not_a_video", "image_as_video", "zero_bytes", "oversized", "wrong_field", "bad_every_n"],
)
def test_bad_video_inputs(client, samples_dir, group_jpeg, case):
    mp4 = (samples_dir / "video" / "video_01.mp4").read_bytes()

    def post(data, field="file", params=None):
        return client.post("/v1/predict/video", params=params, files={field: ("v.mp4", data, "video/mp4")})

    if case == "unsupported_codec":
        assert mp4.count(b"avc1") == 1
        body = assert_error(post(mp4.replace(b"avc1", b"zzz9")), 415, "unsupported_video")
        assert "codec" in body["detail"]
    elif case == "not_a_video":
        assert_error(post(b"just some text, not a video at all" * 10), 415, "unsupported_media_type")
    elif case == "image_as_video":
        assert_error(post(group_jpeg.read_bytes()), 415, "unsupported_media_type")
    elif case == "zero_bytes":
        assert_error(post(b""), 422, "empty_file")
    elif case == "oversized":
        assert_error(post(b"\x00\x00\x00\x18ftypmp42" + os.urandom(5 * 1024 * 1024)), 413, "payload_too_large")
    elif case == "wrong_field":
        assert_error(post(mp4, field="video"), 422, "invalid_request")
    elif case == "bad_every_n":
        assert_error(post(mp4, params={"every_n_frames": "0"}), 422, "invalid_request")
    assert_still_up(client)


def test_unknown_job_is_404(client):
    assert_error(client.get("/v1/jobs/0123456789abcdef"), 404, "job_not_found")
    assert_error(client.delete("/v1/jobs/../../etc"), 404)


def test_job_can_be_cancelled(client, samples_dir):
    mp4 = (samples_dir / "video" / "video_01.mp4").read_bytes()
    r = client.post("/v1/predict/video", files={"file": ("v.mp4", mp4)}, params={"every_n_frames": "1"})
    job = client.delete(r.json()["status_url"]).json()
    job = wait_for_job(client, job["status_url"])
    assert job["status"] in ("cancelled", "done")  # it may have finished before the cancel arrived


# ----- live WebSocket ------------------------------------------------------------------------------------------
def frames_of(path: Path, n: int, size=(320, 240)) -> list[bytes]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    for _ in range(n):
        ok, frame = cap.read()
        assert ok
        out.append(cv2.imencode(".jpg", cv2.resize(frame, size))[1].tobytes())
    cap.release()
    return out


def test_live_websocket_tracks_faces_and_survives_bad_frames(client, samples_dir, web_recognizer):
    frames = frames_of(samples_dir / "video" / "video_01.mp4", 4)
    with client.websocket_connect("/v1/live") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["labels"] == list(web_recognizer.labels)
        ids = []
        for data in frames[:4]:
            ws.send_bytes(data)
            r = ws.receive_json()
            assert r["type"] == "result" and r["width"] == 320 and r["faces"]
            ids.append({f["track_id"] for f in r["faces"]} - {None})
        # new faces are tentative (track_id null) until the tracker confirms them, on their third frame
        assert not ids[0] and ids[2] and ids[2] & ids[3], "faces keep their track ids from frame to frame"
        for bad, code in (
            (b"not an image", "unsupported_media_type"),
            (frames[0][:200], "invalid_image"),
            (b"", "empty_file"),
        ):
            ws.send_bytes(bad)
            r = ws.receive_json()
            assert r["type"] == "error" and r["error"] == code, r
        ws.send_text("hello?")
        assert ws.receive_json()["error"] == "invalid_message"
        ws.send_text(json.dumps({"type": "reset"}))
        assert ws.receive_json()["type"] == "reset"
        for data in frames[:3]:
            ws.send_bytes(data)
            r = ws.receive_json()
        assert r["type"] == "result" and r["faces"] and min(f["track_id"] or 99 for f in r["faces"]) == 1
        ws.send_bytes(b"\xff\xd8\xff" + b"\0" * (600 * 1024))  # over the frame limit: JSON error, then close
        assert ws.receive_json()["error"] == "payload_too_large"
        assert ws.receive()["code"] == 1009
    assert_still_up(client)


# ----- page, CORS, limits --------------------------------------------------------------------------------------
def test_page_and_assets_are_local(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "app.css"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and len(r.content) > 500
        for text in (page.text, r.text):
            assert "https://" not in text and "http://" not in text and "//cdn" not in text


def test_cors_is_off_by_default(client):
    r = client.options(
        "/v1/predict", headers={"Origin": "http://example.test", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in r.headers
    r = client.get("/healthz", headers={"Origin": "http://example.test"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_when_asked(web_recognizer):
    from fastapi.testclient import TestClient

    from ferkit.web import create_app

    app = create_app(recognizer=web_recognizer, cors_origins=["http://allowed.test"], allowed_hosts=["testserver"])
    with TestClient(app) as c:
        r = c.get("/healthz", headers={"Origin": "http://allowed.test"})
        assert r.headers.get("access-control-allow-origin") == "http://allowed.test"
        r = c.get("/healthz", headers={"Origin": "http://other.test"})
        assert "access-control-allow-origin" not in r.headers
    assert not Path(app.state.server.tmpdir).exists(), "the temporary folder is removed at shutdown"


def test_overload_is_a_clear_503(web_recognizer, group_jpeg):
    import threading

    from fastapi.testclient import TestClient

    from ferkit.web import Limits, create_app

    app = create_app(recognizer=web_recognizer, limits=Limits(max_pending=1), allowed_hosts=["testserver"])
    gate = threading.Event()
    service = app.state.server.service
    original = service.recognizer

    class Slow:  # holds the only inference slot until released
        labels = original.labels

        def predict(self, rgb):
            gate.wait(10)
            return []

    service.recognizer = Slow()
    with TestClient(app) as c:
        data = group_jpeg.read_bytes()
        results = {}
        t = threading.Thread(target=lambda: results.setdefault("first", post_image(c, data)))
        t.start()
        deadline = time.time() + 10
        while service.pending == 0 and time.time() < deadline:
            time.sleep(0.01)
        second = post_image(c, data)
        assert_error(second, 503, "busy")
        assert second.headers.get("retry-after") == "1"
        assert c.get("/healthz").status_code == 200  # health answers while inference is busy
        gate.set()
        t.join(10)
        assert results["first"].status_code == 200


def test_limits_are_validated():
    from ferkit.web import Limits

    with pytest.raises(ValueError):
        Limits(max_pixels=0)


def test_serve_cli_defaults():
    from ferkit.cli.main import build_parser

    args = build_parser().parse_args(["serve"])
    assert args.host == "127.0.0.1" and args.port == 8000 and args.model is None and args.cors_origin == []
    args = build_parser().parse_args(["serve", "--model", "ferplus", "--port", "9000", "--host", "0.0.0.0"])
    assert (args.model, args.port, args.host) == ("ferplus", 9000, "0.0.0.0")


# ----- in-browser mode (model files for onnxruntime-web) ------------------------------------------------------
def test_browser_model_is_off_without_onnxruntime_web(client):
    body = client.get("/v1/browser-model").json()
    assert body["available"] is False and "onnxruntime-web" in body["reason"]
    assert_error(client.get("/v1/browser-model/classifier.onnx"), 404, "not_available")
    assert_error(client.get("/vendor/ort/ort.wasm.bundle.min.mjs"), 404)


def test_browser_model_serves_the_same_models(web_recognizer, tmp_path):
    import onnxruntime as ort
    from fastapi.testclient import TestClient

    from ferkit.web import create_app

    dist = tmp_path / "node_modules" / "onnxruntime-web" / "dist"
    dist.mkdir(parents=True)
    (dist / "ort.wasm.bundle.min.mjs").write_text("export const fake = 1;\n")
    (dist / "ort-wasm-simd-threaded.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "secret.txt").write_text("not served")
    app = create_app(recognizer=web_recognizer, ort_web=tmp_path, allowed_hosts=["testserver"])
    with TestClient(app) as c:
        info = c.get("/v1/browser-model").json()
        assert info["available"] is True, info
        assert info["labels"] == list(web_recognizer.labels)
        assert info["preprocess"]["source_size"] == web_recognizer.crop_size
        assert len(info["template"]) == 4 and info["detector"]["size"] == 192  # auto: its full-range pass
        from ferkit.faces.templates import template_for

        assert info["template"] == template_for("blazeface").tolist()  # the video path's faces
        if info["photo_detector"] is not None:  # photos: YuNet's faces onto YuNet's own template
            assert info["photo_detector"]["template"] == template_for("yunet").tolist()
        r = c.get(info["runtime"])
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
        assert c.get(info["wasm_path"] + "ort-wasm-simd-threaded.wasm").headers["content-type"] == "application/wasm"
        for name in ("secret.txt", "..%2f..%2fsecret.txt", "ort.all.min.js"):
            assert c.get(f"/vendor/ort/{name}").status_code == 404
        onnx_model = c.get(info["classifier"]).content
        det = c.get(info["detector"]["url"]).content
    sess = ort.InferenceSession(onnx_model, providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    assert json.loads(meta["labels"]) == list(web_recognizer.labels)
    pre = info["preprocess"]
    crops = np.random.default_rng(0).integers(0, 256, (2, pre["source_size"], pre["source_size"]), np.uint8)
    x = web_recognizer.classifier.preprocess(crops).numpy()
    logits = sess.run(["logits"], {"input": x})[0]
    np.testing.assert_allclose(logits, web_recognizer.classifier.forward(crops)[0], atol=1e-3)
    assert ort.InferenceSession(det, providers=["CPUExecutionProvider"]).get_inputs()[0].name == "image"
