import json
import shutil

import cv2
import numpy as np

from ferkit.cli.main import main


def test_predict_image_outputs(model_ref, samples_dir, tmp_path, capsys):
    src = samples_dir / "images" / "group.jpeg"
    out = tmp_path / "out"
    rc = main(
        [
            "predict",
            str(src),
            "--model",
            model_ref,
            "--output",
            str(out),
            "--json",
            str(tmp_path / "r.json"),
            "--csv",
            str(tmp_path / "r.csv"),
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    assert "group.jpeg" in capsys.readouterr().out
    doc = json.loads((tmp_path / "r.json").read_text())
    faces = doc["images"][0]["faces"]
    assert len(faces) >= 5 and doc["labels"] == list(faces[0]["probabilities"])
    rows = (tmp_path / "r.csv").read_text().splitlines()
    assert len(rows) == 1 + len(faces) and rows[0].startswith("path,frame,time")
    annotated = cv2.imread(str(out / "group_annotated.jpeg"))
    original = cv2.imread(str(src))
    assert annotated.shape == original.shape
    diff = np.abs(annotated.astype(int) - original.astype(int)).sum(axis=2) > 40
    for f in faces:  # drawing happened at every face (box outline)
        x1, y1, x2, y2 = (int(v) for v in f["box"])
        assert diff[max(0, y1 - 3) : y2 + 3, max(0, x1 - 3) : x2 + 3].mean() > 0.02
    assert diff.mean() < 0.5  # ... and not all over the picture


def test_predict_folder_with_bad_files(model_ref, samples_dir, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(samples_dir / "images" / "astronaut.png", folder / "a.png")
    shutil.copy(samples_dir / "images" / "meds-aa-S029-01.jpg", folder / "sub" / "b.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "fake.png").write_text("hello")
    (folder / "readme.txt").write_text("not media")
    rc = main(["predict", str(folder), "--model", model_ref, "--json", str(tmp_path / "r.json"), "-q"])
    assert rc == 1  # some inputs failed
    doc = json.loads((tmp_path / "r.json").read_text())
    assert sorted(p["path"].split("/")[-1] for p in doc["images"]) == ["a.png", "b.jpg"]
    failed = {e["path"].split("/")[-1] for e in doc["errors"]}
    assert failed == {"empty.jpg", "fake.png"}
    assert [s["path"].split("/")[-1] for s in doc["skipped"]] == ["readme.txt"]  # skipped, not failed
    assert all(len(p["faces"]) == 1 for p in doc["images"])


def test_predict_video_outputs(model_ref, short_clip, tmp_path):
    out = tmp_path / "out"
    rc = main(
        [
            "predict",
            str(short_clip),
            "--model",
            model_ref,
            "--output",
            str(out),
            "--json",
            str(tmp_path / "v.json"),
            "--every-n-frames",
            "2",
            "-q",
        ]
    )
    assert rc == 0
    doc = json.loads((tmp_path / "v.json").read_text())
    video = doc["videos"][0]
    assert video["frames_analysed"] == 6 and [f["frame"] for f in video["frames"]] == [0, 2, 4, 6, 8, 10]
    assert video["tracks"] and all(t["frames"] >= 3 for t in video["tracks"])
    ids = {f["track_id"] for fr in video["frames"] for f in fr["faces"]}
    assert {t["track_id"] for t in video["tracks"]} == ids - {None}
    assert video["skipped_frames"] == 0 and video["truncated"] is False
    cap = cv2.VideoCapture(str(out / "clip_annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    ok, frame = cap.read()
    assert ok and frame.shape == (480, 640, 3)


def test_nothing_processed_is_an_error(tmp_path, model_ref):
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"")
    assert main(["predict", str(bad), "--model", model_ref, "-q"]) == 1
    assert main(["predict", str(tmp_path / "missing.jpg"), "--model", model_ref]) == 2


def test_webcam_without_display_fails_clearly(monkeypatch, capsys, model_ref):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["webcam", "--model", model_ref]) == 2
    err = capsys.readouterr().err
    assert "no display" in err and "--source" in err and "ferkit serve" in err
    # --source needs no display: here it fails only because there is no camera
    assert main(["predict", "--source", "7", "--model", model_ref]) == 2
    assert "camera 7: cannot open" in capsys.readouterr().err
