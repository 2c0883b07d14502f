import logging

import numpy as np
import pytest
from PIL import Image

from ferkit import EmotionRecognizer
from ferkit.errors import InputError
from ferkit.faces import load_image
from ferkit.inference.results import FaceResult, FrameResult, summarise_tracks

JSON_KEYS = {"box", "landmarks", "score", "probabilities", "label", "track_id"}


def test_predict_contract(recognizer, samples_dir):
    faces = recognizer.predict(samples_dir / "images" / "group.jpeg")
    assert len(faces) >= 5
    for f in faces:
        assert isinstance(f, FaceResult)
        assert tuple(f.probabilities) == recognizer.labels  # labels come from the model
        assert abs(sum(f.probabilities.values()) - 1) < 1e-5
        assert f.label == max(f.probabilities, key=f.probabilities.get)
        assert f.matrix.shape == (2, 3) and f.landmarks.shape[1] == 2 and 4 <= len(f.landmarks) <= 6
        assert JSON_KEYS <= set(f.to_dict())


def test_path_array_pil_agree(recognizer, samples_dir):
    path = samples_dir / "images" / "meds-aa-S001-01-exif-rotation.jpg"
    a = recognizer.predict(path)
    b = recognizer.predict(load_image(path))
    c = recognizer.predict(Image.open(path))
    assert len(a) == len(b) == len(c) == 1
    for x in (b, c):
        assert np.allclose(a[0].box, x[0].box)
        assert np.allclose(list(a[0].probabilities.values()), list(x[0].probabilities.values()), atol=1e-5)


def test_predict_batch_matches_single(recognizer, samples_dir):
    paths = [samples_dir / "images" / n for n in ("angry.jpg", "astronaut.png", "race.jpg")]
    batch = recognizer.predict_batch(paths)
    for path, faces in zip(paths, batch):
        single = recognizer.predict(path)
        assert len(single) == len(faces)
        for s, f in zip(single, faces):
            assert np.allclose(list(s.probabilities.values()), list(f.probabilities.values()), atol=1e-5)


def test_no_face_and_bad_input(recognizer, tmp_path):
    assert recognizer.predict(np.full((240, 320, 3), 90, np.uint8)) == []
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(InputError, match="broken.png"):
        recognizer.predict(bad)


def test_onnx_runtime_matches_torch(model_ref, samples_dir):
    img = samples_dir / "images" / "group.jpeg"
    t = EmotionRecognizer(model=model_ref, runtime="torch").predict(img)
    o = EmotionRecognizer(model=model_ref, runtime="onnx", threads=1).predict(img)
    assert len(t) == len(o)
    for a, b in zip(t, o):
        assert np.allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-4)


def test_video_tracks_and_timeline(recognizer, clip_results):
    frames = clip_results
    assert [f.frame for f in frames] == list(range(12))
    assert all(isinstance(f, FrameResult) and f.analysed for f in frames)
    assert frames[1].time == pytest.approx(1 / 30, abs=1e-3)
    ids = [{face.track_id for face in f.faces} - {None} for f in frames]  # None: never-confirmed detections
    assert len(set.intersection(*ids)) >= 4  # the same people keep their ids from the first frame
    d = frames[0].to_dict()
    assert {"frame", "time", "faces"} <= set(d) and JSON_KEYS <= set(d["faces"][0])
    summary = summarise_tracks(frames)
    assert summary and all(t.frames >= 3 for t in summary) and summary[0].label in recognizer.labels
    assert sum(summary[0].label_shares.values()) == pytest.approx(1.0)
    assert summary[0].first_time == pytest.approx(summary[0].first_frame / 30, abs=1e-2)


def test_every_n_frames_and_return_frames(recognizer, short_clip):
    items = list(recognizer.predict_video(short_clip, every_n_frames=4, return_frames=True))
    assert len(items) == 12
    analysed = [r.frame for r, _ in items if r.analysed]
    assert analysed == [0, 4, 8]
    assert items[1][0].faces == items[0][0].faces  # skipped frames carry the last faces
    assert items[0][1].shape == (480, 640, 3)


@pytest.mark.parametrize("method", ["none", "mean", "feature-ema"])
def test_smoothing_methods(model_ref, short_clip, method):
    r = EmotionRecognizer(model=model_ref, smoothing=method, threads=1)
    frames = list(r.predict_video(short_clip, max_frames=4))
    face = frames[-1].faces[0]
    assert abs(sum(face.probabilities.values()) - 1) < 1e-5
    if method == "none":
        assert face.probabilities == pytest.approx(face.raw_probabilities)


def test_truncated_video_warns_and_returns_decoded_frames(recognizer, samples_dir, tmp_path, caplog):
    data = (samples_dir / "video" / "video_01.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 3])
    with caplog.at_level(logging.WARNING):
        frames = list(recognizer.predict_video(cut, every_n_frames=5))
    assert 0 < len(frames) < 18
    assert "truncated" in caplog.text


def test_unreadable_video(recognizer, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError):
        list(recognizer.predict_video(bad))
