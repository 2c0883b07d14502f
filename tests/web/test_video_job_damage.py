"""Web video jobs on a damaged upload: read past bad frames and say so in the result."""

from __future__ import annotations

import numpy as np


def _wait(client, url: str, timeout: float = 120) -> dict:
    import time

    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(url).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job not finished within {timeout} s")


def test_damaged_video_job_reports_skipped_frames(client, samples_dir):
    data = bytearray((samples_dir / "video" / "video_01.mp4").read_bytes())
    rng = np.random.default_rng(0)
    for _ in range(200):
        at = int(rng.integers(4096, len(data) - 64))
        data[at : at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    r = client.post("/v1/predict/video", params={"every_n_frames": "10"}, files={"file": ("v.mp4", bytes(data))})
    assert r.status_code == 202, r.text
    job = _wait(client, r.json()["status_url"])
    assert job["status"] == "done", job
    video = job["result"]["video"]
    assert video["skipped_frames"] > 0 and video["truncated"] is False and video["frames_analysed"] >= 8
    for track in job["result"]["tracks"]:
        assert {"first_time", "last_time", "label_shares"} <= set(track)
