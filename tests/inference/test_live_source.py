"""`ferkit predict --source`: stream URLs (a local MJPEG server), files, camera indices; frames dropped, not
queued, when analysis is slower than the source."""

from __future__ import annotations

import json
import time

import cv2
import pytest

from ferkit.cli.main import main
from ferkit.inference.live_reader import LatestFrameReader
from ferkit.media.video import VideoSource


@pytest.fixture(scope="module")
def jpeg_frames(samples_dir):
    cap = cv2.VideoCapture(str(samples_dir / "video" / "video_01.mp4"))
    frames = [cv2.imencode(".jpg", cap.read()[1])[1].tobytes() for _ in range(10)]
    cap.release()
    return frames


def test_source_url_writes_jsonl_as_it_goes(model_ref, jpeg_frames, tmp_path, capsys, mjpeg_server):
    with mjpeg_server(jpeg_frames, fps=30) as server:
        rc = main(
            [
                "predict",
                "--source",
                server.url,
                "--model",
                model_ref,
                "--max-frames",
                "8",
                "--jsonl",
                str(tmp_path / "live.jsonl"),
                "--json",
                str(tmp_path / "live.json"),
                "--csv",
                str(tmp_path / "live.csv"),
                "--output",
                str(tmp_path / "out"),
            ]
        )
    assert rc == 0
    lines = [json.loads(x) for x in (tmp_path / "live.jsonl").read_text().splitlines()]
    video = json.loads((tmp_path / "live.json").read_text())["videos"][0]
    assert len(lines) == video["frames_analysed"] and 1 <= len(lines) <= 8
    assert all(line["path"] == server.url and line["faces"] for line in lines)
    assert video["tracks"] and "dropped_frames" in video and video["truncated"] is False
    assert (tmp_path / "live_tracks.csv").is_file() and (tmp_path / "out" / "stream_annotated.mp4").is_file()
    assert "frames analysed" in capsys.readouterr().out


def test_slow_analysis_drops_frames_instead_of_queueing(jpeg_frames, mjpeg_server):
    with mjpeg_server(jpeg_frames, fps=100) as server:
        reader = LatestFrameReader(VideoSource(server.url))
        seen = []
        for index, _, _rgb in reader:
            seen.append(index)
            time.sleep(0.05)  # "analysis" 5x slower than the source
            if len(seen) == 8:
                break
    assert reader.dropped_frames > 0 and seen[-1] - seen[0] > len(seen)  # it kept up with the newest frames


def test_source_file_and_duration(model_ref, short_clip, tmp_path):
    rc = main(
        [
            "predict",
            "--source",
            str(short_clip),
            "--model",
            model_ref,
            "--duration",
            "0.2",
            "--jsonl",
            str(tmp_path / "f.jsonl"),
            "-q",
        ]
    )
    assert rc == 0
    frames = [json.loads(x)["frame"] for x in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert frames == list(range(7))  # 0.2 s at 30 fps: frames 0..6, every one (a file drops none)


def test_bad_sources_fail_clearly(model_ref, tmp_path, capsys):
    assert main(["predict", "--source", str(tmp_path / "nope.mp4"), "--model", model_ref]) == 2
    assert "not a camera index, stream URL" in capsys.readouterr().err
    assert main(["predict", "--source", "http://127.0.0.1:9/none.mjpg", "--model", model_ref]) == 2
    assert "cannot open video" in capsys.readouterr().err
    assert main(["predict", "--source", "0", "x.jpg", "--model", model_ref]) == 2


@pytest.mark.slow
def test_killed_live_run_keeps_its_jsonl_lines(model_ref, jpeg_frames, tmp_path, mjpeg_server):
    import os
    import signal
    import subprocess
    import sys

    out = tmp_path / "live.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with mjpeg_server(jpeg_frames, fps=30) as server:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ferkit.cli.main",
                "predict",
                "--source",
                server.url,
                "--model",
                model_ref,
                "--jsonl",
                str(out),
                "-q",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.time() + 120
            while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    lines = out.read_text().splitlines()
    assert len(lines) >= 3 and all(json.loads(x)["faces"] for x in lines)
