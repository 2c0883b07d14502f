"""Fixtures of the batch tests: a small mixed collection (photos, short videos, a broken and a truncated file)
and its reference rows from one uninterrupted single-worker run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


def _clip(src: Path, dst: Path, n: int, start: int) -> None:
    import cv2

    cap = cv2.VideoCapture(str(src))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (320, 240))
    for _ in range(n):
        ok, frame = cap.read()
        assert ok
        out.write(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA))
    out.release()
    cap.release()


@pytest.fixture(scope="session")
def collection(samples_dir, tmp_path_factory) -> Path:
    """5 photos (two in a subfolder), 4 videos of 10 frames (each its own task), a file that is no image and a
    truncated JPEG."""
    root = tmp_path_factory.mktemp("collection")
    (root / "sub").mkdir()
    images = samples_dir / "images"
    for name in ("group.jpeg", "angry.jpg", "meds-aa-S029-01.jpg"):
        shutil.copy(images / name, root / name)
    for name in ("happy-baby.jpeg", "race.jpg"):
        shutil.copy(images / name, root / "sub" / name)
    for i in range(4):
        _clip(samples_dir / "video" / "video_01.mp4", root / "sub" / f"clip{i}.mp4", 10, start=15 * i)
    (root / "broken.jpg").write_text("not an image")
    (root / "truncated.jpg").write_bytes((images / "race.jpg").read_bytes()[:3000])
    return root


@pytest.fixture(scope="session")
def parquet_rows():
    """read_rows, for the tests."""
    return read_rows


def read_rows(folder: Path) -> dict[str, list[tuple]]:
    """Every row of each Parquet table, as sorted tuples (the order of parts is not part of the contract)."""
    import pyarrow.dataset as ds

    out = {}
    for table in ("faces", "tracks", "errors"):
        rows = ds.dataset(folder / table, format="parquet").to_table().to_pylist()
        out[table] = sorted((tuple(r.items()) for r in rows), key=repr)
    return out


@pytest.fixture(scope="session")
def reference(collection, model_ref, tmp_path_factory):
    """One uninterrupted run with one worker: its Parquet folder, CSV text and exit status."""
    from ferkit.cli.main import main

    out = tmp_path_factory.mktemp("reference")
    rc = main(
        [
            "predict",
            str(collection),
            "--model",
            model_ref,
            "--workers",
            "1",
            "--parquet",
            str(out / "pq"),
            "--csv",
            str(out / "rows.csv"),
            "-q",
        ]
    )
    return {
        "rc": rc,
        "rows": read_rows(out / "pq"),
        "csv": (out / "rows.csv").read_text(),
        "tracks_csv": (out / "rows_tracks.csv").read_text(),
    }
