"""POST /v1/predict?detector=...: the detector per request ("none" for face crops) and the no-face hint."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.realdata


def png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def post(client, data: bytes, **params):
    return client.post("/v1/predict", params=params, files={"file": ("x.png", data, "image/png")})


@pytest.fixture(scope="module")
def ck_png(data_root) -> bytes:
    return sorted((data_root / "ckplus" / "CK+48" / "surprise").glob("*.png"))[0].read_bytes()


def test_detector_none_takes_the_whole_image(client, ck_png):
    body = post(client, ck_png, detector="none").json()
    assert len(body["faces"]) == 1 and body["faces"][0]["box"] == [0, 0, 48, 48] and body["hint"] is None


def test_default_detector_and_hint(client, samples_dir):
    from ferkit.faces import load_image

    wall = load_image(samples_dir / "images" / "surprised.jpeg")[:200, :200].copy()
    body = post(client, png(wall)).json()
    assert body["faces"] == [] and "detector 'none'" in body["hint"]
    assert post(client, png(np.full((600, 1200, 3), 90, np.uint8))).json()["hint"] is None


def test_unknown_detector_is_a_clear_422(client, ck_png):
    r = post(client, ck_png, detector="mtcnn")
    assert r.status_code == 422 and r.json()["error"] == "invalid_detector" and "none" in r.json()["detail"]
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.fixture(scope="module")
def crop_clip(data_root, tmp_path_factory) -> bytes:
    """A 6-frame 96x96 video whose every frame is a CK+48 face crop (upscaled): a feed of pre-cropped faces."""
    import cv2

    frames = sorted((data_root / "ckplus" / "CK+48" / "happy").glob("*.png"))[:6]
    path = tmp_path_factory.mktemp("crops") / "crops.mp4"
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 96))
    assert out.isOpened()
    for f in frames:
        out.write(cv2.resize(cv2.imread(str(f)), (96, 96), interpolation=cv2.INTER_CUBIC))
    out.release()
    return path.read_bytes()


def test_video_job_takes_the_detector_per_request(client, crop_clip):
    r = client.post(
        "/v1/predict/video",
        params={"detector": "none", "every_n_frames": 1, "wait": "true"},
        files={"file": ("crops.mp4", crop_clip, "video/mp4")},
    )
    assert r.status_code == 200 and r.json()["status"] == "done", r.text
    frames = r.json()["result"]["frames"]
    assert len(frames) == 6
    assert all(len(f["faces"]) == 1 and f["faces"][0]["box"] == [0, 0, 96, 96] for f in frames)
    assert r.json()["result"]["summary"]["tracks"] == 1
    bad = client.post(
        "/v1/predict/video", params={"detector": "mtcnn"}, files={"file": ("crops.mp4", crop_clip, "video/mp4")}
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_detector"


def test_live_socket_takes_the_detector_per_session(client, ck_png):
    with client.websocket_connect("/v1/live?detector=none") as ws:
        assert ws.receive_json()["type"] == "hello"
        for _ in range(3):
            ws.send_bytes(ck_png)
            r = ws.receive_json()
            assert r["type"] == "result" and [f["box"] for f in r["faces"]] == [[0, 0, 48, 48]], r
    with client.websocket_connect("/v1/live?detector=mtcnn") as ws:
        r = ws.receive_json()
        assert r["type"] == "error" and r["error"] == "invalid_detector" and "none" in r["detail"]
    assert client.get("/healthz").json()["status"] == "ok"


def test_stream_takes_its_own_detector(web_recognizer, data_root):
    from ferkit.faces import load_image

    crop = load_image(sorted((data_root / "ckplus" / "CK+48" / "happy").glob("*.png"))[0])
    stream = web_recognizer.stream(detector="none")
    boxes = [[list(map(float, f.box)) for f in stream.step(crop).faces] for _ in range(3)]
    assert boxes == [[[0.0, 0.0, 48.0, 48.0]]] * 3
    assert web_recognizer.stream().detector is web_recognizer.detector  # default: the recogniser's own
