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
