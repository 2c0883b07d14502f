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
