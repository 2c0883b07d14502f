import numpy as np
import pytest

from ferkit.errors import ModelError
from ferkit.faces import Detection, create_detector, list_detectors, load_image
from ferkit.faces.auto import AutoDetector
from ferkit.faces.blazeface import BlazeFace
from ferkit.faces.whole import WholeImageDetector

DETECTORS = ["auto", "blazeface", "blazeface_short", "yunet", "haar"]
SINGLE = [
    "angry.jpg",
    "neutral.jpeg",
    "surprised.jpeg",
    "happy-baby.jpeg",
    "sad-baby.jpeg",
    "astronaut.png",
    "meds-aa-S001-01.jpg",
    "meds-aa-S001-01-exif-rotation.jpg",
    "meds-aa-S029-01.jpg",
    "meds-af-S419-01.jpg",
    "person_cropped_2.png",
]


@pytest.fixture(scope="module")
def detectors():
    return {name: create_detector(name, **({"threads": 1} if name != "haar" else {})) for name in DETECTORS}


@pytest.fixture(scope="module")
def images(samples_dir):
    return {p.name: load_image(p) for p in (samples_dir / "images").iterdir()}


def test_registry():
    assert set(DETECTORS) <= set(list_detectors())
    assert isinstance(create_detector("auto"), AutoDetector)
    assert isinstance(create_detector("none"), WholeImageDetector)
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


def test_whole_image_detector():
    det = create_detector("none")
    img = np.zeros((30, 50, 3), np.uint8)
    (d,) = det.detect(img)
    assert d.box.tolist() == [0, 0, 50, 30] and d.score == 1.0 and d.landmarks is None
    assert det.detect(np.zeros((0, 5, 3), np.uint8)) == []


def test_auto_finds_close_ups_the_full_range_model_misses(detectors, images):
    """Tight square crops of the face (the face fills the frame, like a selfie or a dataset crop)."""
    missed_by_full = 0
    for name in ("surprised.jpeg", "angry.jpg", "neutral.jpeg", "sad-baby.jpeg"):
        x1, y1, x2, y2 = detectors["blazeface"].detect(images[name])[0].box
        half = max(x2 - x1, y2 - y1) / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        crop = images[name][max(0, int(cy - half)) : int(cy + half), max(0, int(cx - half)) : int(cx + half)]
        auto = detectors["auto"].detect(crop)
        assert len(auto) == 1 and auto[0].width > 0.5 * crop.shape[1], name
        missed_by_full += detectors["blazeface"].detect(crop) == []
    assert missed_by_full >= 2  # what the fallback passes are for


def test_auto_runs_one_pass_where_full_range_finds_faces(detectors, images):
    """The cost guard of video: stream frames where full-range finds a face pay for that pass alone (photos run
    the two YuNet passes whatever they hold)."""
    found = detectors["auto"].detect_with_candidates(images["group.jpeg"], 0.2)
    assert found and detectors["auto"].last_passes == 1
    detectors["auto"].detect(images["group.jpeg"])
    assert detectors["auto"].last_passes == 2


def test_auto_photos_find_small_faces_beside_a_close_up(detectors, images):
    """The group photo shrunk beside a close-up: the stream design (full range first, other passes only where it
    finds nothing) loses faces here; the photo design keeps the close-up and the group."""
    import cv2

    group = cv2.resize(images["group.jpeg"], (800, 533), interpolation=cv2.INTER_AREA)
    close = cv2.resize(images["surprised.jpeg"], (1200, 800), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((800, 2000, 3), np.uint8)
    canvas[:, :1200], canvas[133:666, 1200:] = close, group
    alone = detectors["auto"].detect(group)
    both = detectors["auto"].detect(canvas)
    in_group = [d for d in both if d.box[0] >= 1200]
    in_close = [d for d in both if d.box[2] <= 1200 and d.width > 150]
    assert len(alone) == 5 and len(in_group) == len(alone) and len(in_close) == 1
    streamed = detectors["auto"].detect_with_candidates(canvas, detectors["auto"].min_score)
    assert len(streamed) < len(both)  # what the photo design is for


def test_one_box_per_face_where_two_candidate_clusters_barely_overlap():
    """Frame 15 of video_01.mp4: two candidate boxes on one face 0.41 sides apart (IoU 0.28) were both kept."""
    from ferkit.faces.blazeface import weighted_nms

    boxes = np.array([[396, 185, 429, 218], [387, 171, 420, 204], [600, 185, 633, 218]], np.float32)
    kept = weighted_nms(boxes, np.zeros((3, 6, 2), np.float32), np.array([0.8, 0.6, 0.7], np.float32))
    assert len(kept) == 2
