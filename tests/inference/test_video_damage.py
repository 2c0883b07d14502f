"""Decoding that survives damage, and videos known by content (real clip: video_01.mp4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from ferkit.cli.main import main
from ferkit.media.sniff import is_video_file
from ferkit.media.video import VideoSource


@pytest.fixture(scope="module")
def corrupted(samples_dir, tmp_path_factory):
    """video_01.mp4 with 200 random 64-byte patches past the first 4 kB (the header), seeded."""
    data = bytearray((samples_dir / "video" / "video_01.mp4").read_bytes())
    rng = np.random.default_rng(0)
    for _ in range(200):
        at = int(rng.integers(4096, len(data) - 64))
        data[at : at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    path = tmp_path_factory.mktemp("damaged") / "corrupted.mp4"
    path.write_bytes(bytes(data))
    return path


def test_reading_goes_on_past_undecodable_frames(corrupted):
    source = VideoSource(corrupted)
    indices = [i for i, _, _ in source]
    assert source.info.frame_count == 90
    assert len(indices) >= 80 and source.skipped_frames > 0  # before: decoding stopped at the first bad frame
    assert len(indices) + source.skipped_frames == 90 and not source.truncated
    assert indices == sorted(set(indices)) and indices[-1] == 89  # frame numbers keep counting the skipped ones


def test_recognizer_result_reports_skipped_frames(recognizer, corrupted):
    run = recognizer.predict_video(corrupted, every_n_frames=10)  # 9 analysed frames are enough to count skips
    frames = list(run)
    assert run.frames_analysed == len(frames) >= 8
    summary = run.summary()
    assert summary["skipped_frames"] == run.skipped_frames > 0 and summary["truncated"] is False


@pytest.mark.slow
def test_cli_reports_damage_in_one_line_without_ffmpeg_noise(model_ref, corrupted, tmp_path):
    """A fresh process (FFmpeg's log level is read once per process): the table, JSON and CSV summary report the
    skipped frames; stderr has one summary line and none of FFmpeg's per-frame decoder errors."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("OPENCV_FFMPEG_LOGLEVEL", None)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "ferkit.cli.main",
            "predict",
            str(corrupted),
            "--model",
            model_ref,
            "--every-n-frames",
            "5",
            "--json",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "r.csv"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "undecodable frames skipped" in out.stdout
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "undecodable frames skipped" in lines[0], out.stderr
    video = json.loads((tmp_path / "r.json").read_text())["videos"][0]
    assert video["skipped_frames"] > 0 and video["truncated"] is False and video["frames_analysed"] >= 16
    tracks_csv = (tmp_path / "r_tracks.csv").read_text().splitlines()
    header = tracks_csv[0].split(",")
    assert {"skipped_frames", "truncated", "first_time", "last_time", "share_neutral"} <= set(header)
    row = dict(zip(header, tracks_csv[1].split(",")))
    assert int(row["skipped_frames"]) == video["skipped_frames"]


def test_truncated_file_is_flagged(samples_dir, tmp_path):
    data = (samples_dir / "video" / "video_01.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    source = VideoSource(cut)
    n = sum(1 for _ in source)
    assert 0 < n < 90 and source.truncated


def _write(path, fourcc: str, frames) -> bool:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 25.0, (frames[0].shape[1], frames[0].shape[0]))
    if not writer.isOpened():
        return False
    for f in frames:
        writer.write(f)
    writer.release()
    return path.is_file() and path.stat().st_size > 0


@pytest.fixture(scope="module")
def few_frames(samples_dir):
    cap = cv2.VideoCapture(str(samples_dir / "video" / "video_01.mp4"))
    frames = [cap.read()[1] for _ in range(6)]
    cap.release()
    return frames


@pytest.mark.parametrize(
    "name,fourcc",
    [
        ("clip.webm", "VP80"),
        ("clip.mkv", "MJPG"),
        ("clip.mov", "mp4v"),
        ("clip.avi", "MJPG"),
        ("clip.bin", "MJPG"),
        ("clip", "mp4v"),
    ],
)
def test_containers_are_videos_by_content(few_frames, tmp_path, name, fourcc):
    # "clip.bin" / "clip": made as .mkv / .mp4, then renamed, so only the content says it is a video
    made = tmp_path / (name if "." in name and name != "clip.bin" else name + (".mkv" if fourcc == "MJPG" else ".mp4"))
    if not _write(made, fourcc, few_frames):
        pytest.skip(f"this OpenCV cannot write {fourcc} into {made.suffix}")
    path = made.rename(tmp_path / name) if made.name != name else made
    assert is_video_file(path)
    assert sum(1 for _ in VideoSource(path)) == 6


def test_theora_ogg_is_a_video(few_frames, tmp_path, model_ref):
    path = tmp_path / "clip.ogv"
    if not _write(path, "THEO", few_frames):
        pytest.skip("this OpenCV build has no Theora encoder (FFmpeg without libtheora), so no .ogv can be made")
    ogg = path.rename(tmp_path / "clip.ogg")
    assert is_video_file(ogg)
    assert main(["predict", str(ogg), "--model", model_ref, "-q", "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["videos"][0]["frames_analysed"] == 6


def test_images_are_not_taken_for_videos(samples_dir):
    assert not is_video_file(samples_dir / "images" / "group.jpeg")


def test_ogg_is_read_as_video_not_image(tmp_path, model_ref, caplog):
    """An Ogg file (any suffix) goes to the video reader: one that does not decode fails as a video."""
    fake = tmp_path / "clip.dat"
    fake.write_bytes(b"OggS\x00\x02" + b"\x00" * 500)
    assert is_video_file(fake)
    assert main(["predict", str(fake), "--model", model_ref, "-q"]) == 1
    assert "cannot open video" in caplog.text and "not a readable image" not in caplog.text
