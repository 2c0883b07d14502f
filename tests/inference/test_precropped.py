"""Pre-cropped faces (detector "none") and the hint given when no face is found in a face-sized image."""

import json

import numpy as np
import pytest

from ferkit import EmotionRecognizer
from ferkit.cli.main import main
from ferkit.faces import load_image
from ferkit.inference.results import ImageFaces, no_face_hint


@pytest.fixture(scope="module")
def ck_frame(data_root):
    return sorted((data_root / "ckplus" / "CK+48" / "happy").glob("*.png"))[0]


@pytest.fixture(scope="module")
def wall(samples_dir):
    """A 200x200 patch of plain studio background: face-sized, no face."""
    return load_image(samples_dir / "images" / "surprised.jpeg")[:200, :200].copy()


def test_none_classifies_the_whole_image_like_training(model_ref, ck_frame):
    rec = EmotionRecognizer(model=model_ref, detector="none", threads=1, tta="none")  # one view, as training
    faces = rec.predict(ck_frame)
    assert len(faces) == 1 and faces[0].box.tolist() == [0, 0, 48, 48] and faces[0].score == 1.0
    assert faces.hint is None
    grey = np.asarray(load_image(ck_frame))[:, :, 0]
    crops, matrices = rec.align(load_image(ck_frame), rec.detect(ck_frame))
    assert np.array_equal(crops[0], grey)  # the crop is the image itself, pixel for pixel
    direct = rec.classifier.probabilities(rec.classify_crops(grey[None])[0])[0]
    assert np.allclose(list(faces[0].probabilities.values()), direct, atol=1e-6)


def test_none_on_a_larger_crop_resizes_it_whole(model_ref, samples_dir):
    rec = EmotionRecognizer(model=model_ref, detector="none", threads=1)
    img = load_image(samples_dir / "images" / "meds-aa-S029-01.jpg")  # 384x480
    (face,) = rec.predict(img)
    assert face.box.tolist() == [0, 0, 384, 480]
    assert np.allclose(face.matrix[:, :2], np.eye(2) * rec.crop_size / 480)


def test_detector_per_call(recognizer, wall):
    assert recognizer.predict(wall) == []
    faces = recognizer.predict(wall, detector="none")
    assert len(faces) == 1 and faces.hint is None


def test_hint_when_a_face_sized_image_has_no_face(recognizer, wall):
    faces = recognizer.predict(wall)
    assert isinstance(faces, ImageFaces) and faces == [] and "detector 'none'" in faces.hint
    big = np.full((900, 1200, 3), 90, np.uint8)
    assert recognizer.predict(big).hint is None  # a scene, not a face crop
    assert recognizer.predict_batch([wall, big])[0].hint == faces.hint
    assert no_face_hint((48, 48, 3)) and no_face_hint((100, 400, 3)) is None  # elongated: a banner, not a face


def test_cli_detector_none_and_hint(model_ref, ck_frame, wall, tmp_path, capsys):
    from PIL import Image

    wall_path = tmp_path / "wall.png"
    Image.fromarray(wall).save(wall_path)
    out = tmp_path / "r.json"
    assert main(["predict", str(ck_frame), "--detector", "none", "--model", model_ref, "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["detector"] == "none"
    (entry,) = doc["images"]
    assert len(entry["faces"]) == 1 and entry["faces"][0]["box"] == [0, 0, 48, 48] and "hint" not in entry
    capsys.readouterr()
    assert main(["predict", str(wall_path), "--model", model_ref, "--json", str(out)]) == 0
    (entry,) = json.loads(out.read_text())["images"]
    assert entry["faces"] == [] and "--detector none" in entry["hint"]
    assert "hint: no face found" in capsys.readouterr().out
