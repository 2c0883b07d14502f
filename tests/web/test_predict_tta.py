"""POST /v1/predict classifies still images with the server's TTA setting (`ferkit serve --tta`, default flip)."""

from __future__ import annotations

import numpy as np
import pytest

SMALL_LIMITS = {"max_image_bytes": 2 * 1024 * 1024, "max_video_bytes": 4 * 1024 * 1024}
TEST_HOSTS = ("testserver",)  # the Host of FastAPI's TestClient


def _served_probabilities(app, path) -> np.ndarray:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        body = c.post("/v1/predict", files={"file": (path.name, path.read_bytes(), "image/jpeg")}).json()
    return np.array([list(f["probabilities"].values()) for f in body["faces"]])


@pytest.mark.parametrize("tta", ["flip", "none"])
def test_served_predictions_follow_the_tta_setting(web_model, web_recognizer, group_jpeg, tta):
    from ferkit.web import Limits, create_app

    app = create_app(
        web_model,
        limits=Limits(**SMALL_LIMITS),
        allowed_hosts=TEST_HOSTS,
        threads=1,
        tta=tta,
    )
    assert app.state.server.service.recognizer.tta == tta
    served = _served_probabilities(app, group_jpeg)
    local = np.array([list(f.probabilities.values()) for f in web_recognizer.predict(group_jpeg, tta=tta)])
    assert served.shape == local.shape and np.allclose(served, local, atol=1e-4)
