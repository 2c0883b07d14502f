"""``--engine ray``: the same rows on Ray Data (a local Ray with 2 CPUs, started here), and a clear message
where Ray is not installed."""

from __future__ import annotations

import sys

import pytest

from ferkit.cli.main import main


def test_engine_ray_without_ray_says_how_to_install(monkeypatch, collection, model_ref, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert main(["predict", str(collection / "group.jpeg"), "--model", model_ref, "--engine", "ray"]) == 2
    assert "pip install 'ferkit[ray]'" in capsys.readouterr().err


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs for this module (slow to start: one start for every Ray test)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_gives_the_rows_of_the_local_pool(local_ray, reference, collection, model_ref, tmp_path, parquet_rows):
    rc = main(
        [
            "predict",
            str(collection),
            "--model",
            model_ref,
            "--engine",
            "ray",
            "--workers",
            "2",
            "--parquet",
            str(tmp_path / "pq"),
            "--csv",
            str(tmp_path / "rows.csv"),
            "-q",
        ]
    )
    assert rc == reference["rc"]
    assert parquet_rows(tmp_path / "pq") == reference["rows"]
    assert (tmp_path / "rows.csv").read_text() == reference["csv"]


@pytest.mark.slow
def test_each_result_comes_at_once_from_every_actor(local_ray, collection, samples_dir, model_ref, tmp_path):
    """A result is handed on as soon as it and those before it are done, not held until the next task ends too
    (Ray Data's iter_rows reads one block ahead), and with 2 workers on 2 CPUs both actors analyse."""
    import time

    import cv2

    from ferkit.batch.api import _plan
    from ferkit.batch.ray_engine import results_with_workers
    from ferkit.batch.tasks import make_tasks

    clip = tmp_path / "long.mp4"  # a task of seconds, right after a photo task of a fraction of one
    cap = cv2.VideoCapture(str(samples_dir / "video" / "video_01.mp4"))
    out = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for _ in range(40):
        ok, frame = cap.read()
        assert ok
        out.write(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA))
    out.release()
    cap.release()
    photos = [collection / "angry.jpg", collection / "group.jpeg", collection / "sub" / "race.jpg"]
    tasks = make_tasks([(photos[0], False), (clip, True), *[(p, False) for p in photos[1:]]], photos_per_task=1)
    _, _, options = _plan([photos[0]], model_ref, {})
    received, workers = [], []
    for result, worker in results_with_workers(tasks, options, workers=2):
        received.append((result["task"], time.perf_counter()))
        workers.append(worker)
    assert [task for task, _ in received] == [t.id for t in tasks]
    assert received[1][1] - received[0][1] > 0.5  # the photo's result did not wait for the video's
    assert len(set(workers)) == 2
