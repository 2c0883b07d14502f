import numpy as np
import pytest

from ferkit.errors import ModelError
from ferkit.faces import Detection, create_detector, list_detectors, load_image
from ferkit.faces.blazeface import BlazeFace

DETECTORS = ["blazeface", "blazeface_short", "haar"]
SINGLE = ["angry.jpg", "neutral.jpeg", "surprised.jpeg", "happy-baby.jpeg", "sad-baby.jpeg", "astronaut.png",
          "meds-aa-S001-01.jpg", "meds-aa-S001-01-exif-rotation.jpg", "meds-aa-S029-01.jpg", "meds-af-S419-01.jpg",
          "person_cropped_2.png"]


@pytest.fixture(scope="module")
def detectors():
    return {name: create_detector(name, **({"threads": 1} if name.startswith("blaze") else {})) for name in DETECTORS}


@pytest.fixture(scope="module")
def images(samples_dir):
    return {p.name: load_image(p) for p in (samples_dir / "images").iterdir()}


def test_registry():
    assert set(DETECTORS) <= set(list_detectors())
    assert isinstance(create_detector("auto"), BlazeFace)
    with pytest.raises(ModelError):
        create_detector("no-such-detector")


@pytest.mark.parametrize("name", DETECTORS)
def test_contract(detectors, images, name):
    img = images["group.jpeg"]
    before = img.copy()
    found = detectors[name].detect(img)
    assert np.array_equal(img, before), "detectors must not modify the image"
    assert found and all(isinstance(d, Detection) for d in found)
    h, w = img.shape[:2]
    for d in found:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        assert 0 < d.score <= 1
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)


@pytest.mark.parametrize("name", SINGLE)
def test_default_detector_finds_the_face(detectors, images, name):
    found = detectors["blazeface"].detect(images[name])
    assert len(found) >= 1, name
    img_h = images[name].shape[0]
    d = found[0]
    assert d.landmarks is not None and d.landmarks.shape == (6, 2)
    # right eye (subject's) is left in the image, eyes above the mouth
    assert d.landmarks[0, 0] < d.landmarks[1, 0]
    assert d.landmarks[:2, 1].max() < d.landmarks[3, 1]
    assert d.height > img_h * 0.03


def test_group_and_small_faces(detectors, images):
    assert len(detectors["blazeface"].detect(images["group.jpeg"])) >= 5
    race = detectors["blazeface"].detect(images["race.jpg"])
    assert len(race) >= 2
    assert all(d.width < images["race.jpg"].shape[1] / 10 for d in race)  # small faces


def test_no_face_gives_empty_list(detectors, images):
    rng = np.random.default_rng(0)
    blank = np.full((480, 640, 3), 127, np.uint8)
    noise = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    wall = images["surprised.jpeg"][:300, :300].copy()  # grey studio background
    for name in DETECTORS:
        for img in (blank, noise, wall):
            assert detectors[name].detect(img) == [], name


def test_torch_and_onnx_backends_agree(images):
    img = images["group.jpeg"]
    a = BlazeFace("full", backend="torch").detect(img)
    b = BlazeFace("full", backend="onnx", threads=1).detect(img)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.abs(x.box - y.box).max() < 0.5 and abs(x.score - y.score) < 1e-3


def test_tiny_and_odd_shaped_images(detectors):
    for shape in ((1, 1, 3), (5, 400, 3), (400, 5, 3)):
        for name in DETECTORS:
            assert detectors[name].detect(np.zeros(shape, np.uint8)) == []
