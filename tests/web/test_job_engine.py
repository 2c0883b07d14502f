"""Video jobs on the batch engine: a job is a task of the worker code of `ferkit predict`, run by a pool of
worker processes owned by the server (or by Ray), so its frames and tracks are the rows `ferkit predict` gives
for the same video with the same options; a job cancelled while it runs stops."""

from __future__ import annotations

import json
import sys
import time

import pytest

from ferkit.cli.main import main


def _wait(client, url: str, timeout: float = 300) -> dict:
    end = time.time() + timeout
    while time.time() < end:
        job = client.get(url).json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job still {job['status']} after {timeout} s")


def _engine_client(web_model, **options):
    from fastapi.testclient import TestClient

    from ferkit.web import create_app

    app = create_app(web_model, allowed_hosts=("testserver",), detector="haar", **options)
    return TestClient(app)


def _predict_video(clip, web_model, tmp_path, detector: str, every: int) -> dict:
    """What `ferkit predict` says about ``clip`` (its JSON entry)."""
    out = tmp_path / "predict.json"
    argv = ["predict", str(clip), "--model", web_model, "--detector", detector, "--every-n-frames", str(every)]
    assert main([*argv, "--workers", "1", "--json", str(out), "-q"]) == 0
    (video,) = json.loads(out.read_text())["videos"]
    return video


def _same_rows(job: dict, video: dict) -> None:
    result = job["result"]
    assert result["frames"] == video["frames"]
    assert [{k: v for k, v in t.items() if k != "timeline"} for t in result["tracks"]] == video["tracks"]
    assert result["video"]["frames_analysed"] == video["frames_analysed"]
    faces = sum(len(f["faces"]) for f in video["frames"])
    assert faces > 0 and result["summary"]["face_frames"] == faces


def test_local_pool_job_gives_the_rows_of_predict(web_model, clip_mp4, tmp_path):
    with _engine_client(web_model, engine="local", video_workers=1) as client:
        assert client.app.state.server.jobs.engine.engine == "local"
        jobs = {}
        for detector, every in (("haar", 2), ("blazeface", 1)):  # the server's detector, and one a job names
            r = client.post(
                "/v1/predict/video",
                params={"every_n_frames": every, "detector": detector},
                files={"file": ("clip.mp4", clip_mp4.read_bytes(), "video/mp4")},
            )
            assert r.status_code == 202, r.text
            jobs[detector, every] = r.json()["status_url"]
        for (detector, every), url in jobs.items():
            job = _wait(client, url)
            assert job["status"] == "done", job
            assert job["progress"]["fraction"] == 1.0
            _same_rows(job, _predict_video(clip_mp4, web_model, tmp_path, detector, every))


def test_local_pool_job_cancelled_while_running_stops(web_model, samples_dir):
    video = (samples_dir / "video" / "video_01.mp4").read_bytes()
    with _engine_client(web_model, engine="local", video_workers=1) as client:
        r = client.post("/v1/predict/video", params={"every_n_frames": 1}, files={"file": ("v.mp4", video)})
        url = r.json()["status_url"]
        end = time.time() + 120
        while client.get(url).json()["progress"]["frames_done"] == 0:  # progress comes from the worker
            assert time.time() < end, "no progress reported"
            time.sleep(0.1)
        client.delete(url)
        job = _wait(client, url, timeout=60)
        assert job["status"] == "cancelled" and job["result"] is None
        assert job["progress"]["frames_done"] < job["progress"]["frames_total"]


def test_engine_needs_a_model_it_can_load(web_recognizer):
    from ferkit.errors import FerkitError
    from ferkit.web import create_app

    with pytest.raises(FerkitError, match="engine"):
        create_app(web_recognizer.classifier, recognizer=web_recognizer, engine="local")
    with pytest.raises(FerkitError, match="--address is for --engine ray"):
        create_app(recognizer=web_recognizer, engine="local", address="auto")


def test_serve_engine_usage_errors_come_before_the_model(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    argv = ["serve", "--model", str(tmp_path / "no-such-model.pt"), "--state-dir", str(tmp_path / "state")]
    assert main([*argv, "--engine", "ray"]) == 2
    assert "pip install 'ferkit[ray]'" in capsys.readouterr().err
    assert main([*argv, "--address", "auto"]) == 2
    assert "--address is for --engine ray" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*argv, "--video-workers", "0"])
    assert "must be >= 1" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_job_gives_the_rows_of_predict(web_model, clip_mp4, tmp_path):
    ray = pytest.importorskip("ray")
    try:
        with _engine_client(web_model, engine="ray", video_workers=1) as client:
            r = client.post(
                "/v1/predict/video",
                params={"every_n_frames": 3, "wait": "true"},
                files={"file": ("clip.mp4", clip_mp4.read_bytes(), "video/mp4")},
            )
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "done", r.json()
            _same_rows(r.json(), _predict_video(clip_mp4, web_model, tmp_path, "haar", 3))
    finally:
        ray.shutdown()
