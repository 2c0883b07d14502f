"""Per-detector alignment templates: the keypoints a detector emits carry their source, and the aligner uses the
template measured for that source (BlazeFace's for an unknown one)."""

import numpy as np
import pytest

from ferkit.faces import alignment
from ferkit.faces.alignment import FER_TEMPLATE, alignment_matrices, similarity_matrices
from ferkit.faces.blazeface import to_detections
from ferkit.faces.templates import DEFAULT_SOURCE, TEMPLATES, template_for, template_name
from ferkit.faces.types import Detection
from ferkit.inference.stream import _carried

BLAZE = np.array([[0.32, 0.3816], [0.68, 0.3816], [0.5, 0.5926], [0.5, 0.7552]])


def test_blazeface_template_is_the_measured_one_and_the_default():
    assert DEFAULT_SOURCE == "blazeface"
    np.testing.assert_array_equal(TEMPLATES["blazeface"], BLAZE)
    assert TEMPLATES["blazeface"].shape == (4, 2)


def test_fer_template_is_loaded_from_the_templates_module():
    assert FER_TEMPLATE is TEMPLATES["blazeface"]
    assert alignment.FER_TEMPLATE is template_for(None)


@pytest.mark.parametrize("source", [None, "", "haar", "BlazeFace", "no-such-detector", 3, ("yunet",)])
def test_unknown_sources_fall_back_to_blazeface(source):
    assert template_name(source) == "blazeface"
    assert template_for(source) is TEMPLATES["blazeface"]


def test_every_known_source_gets_its_own_template():
    for name, template in TEMPLATES.items():
        assert template_name(name) == name
        assert template_for(name) is template


def test_frozen_makes_a_read_only_float_array():
    from ferkit.faces.templates import _frozen

    array = _frozen([[1, 2], [3, 4]])
    assert array.dtype == np.float64 and array.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert not array.flags.writeable
    with pytest.raises(ValueError):
        array[0, 0] = 0.0


def test_templates_are_read_only():
    for template in TEMPLATES.values():
        with pytest.raises(ValueError):
            template[0, 0] = 0.0


def test_templates_are_left_right_symmetric():
    for template in TEMPLATES.values():
        assert template[0, 0] + template[1, 0] == pytest.approx(1.0, abs=1e-9)
        assert template[0, 1] == pytest.approx(template[1, 1], abs=1e-9)
        assert template[2:, 0] == pytest.approx([0.5, 0.5], abs=1e-9)
        assert template[0, 0] < template[1, 0]  # the subject's right eye on the crop's left
        assert template[0, 1] < template[2, 1] < template[3, 1]  # eyes, then nose, then mouth


@pytest.fixture
def shifted_source(monkeypatch):
    """A made-up source whose template is BlazeFace's moved down by a tenth of the crop."""
    moved = BLAZE + [0.0, 0.1]
    monkeypatch.setitem(TEMPLATES, "test-detector", moved)
    return moved


def _faces(sources, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for source in sources:
        lm = BLAZE * rng.uniform(40, 200) + rng.uniform(0, 300, 2) + rng.normal(0, 2, (4, 2))
        box = np.array([*lm.min(0) - 20, *lm.max(0) + 20], np.float32)
        out.append(Detection(box=box, score=0.9, landmarks=lm.astype(np.float32), source=source))
    return out


def test_each_face_is_aligned_onto_its_sources_template(shifted_source):
    faces = _faces(["test-detector", None, "blazeface", "test-detector", "unknown"])
    got = alignment_matrices(faces, 48)
    for face, m in zip(faces, got):
        template = shifted_source if face.source == "test-detector" else BLAZE
        np.testing.assert_allclose(m, similarity_matrices(face.landmarks[None, :4], template * 48)[0], atol=1e-9)
    # the made-up template moves the face up in the crop: 0.1 of the crop side, at the same scale
    np.testing.assert_allclose(
        got[0], similarity_matrices(faces[0].landmarks[None], BLAZE * 48)[0] + [[0, 0, 0], [0, 0, 4.8]], atol=1e-9
    )


def test_same_landmarks_from_two_sources_give_two_crops(shifted_source):
    face = _faces([None])[0]
    other = Detection(box=face.box, score=face.score, landmarks=face.landmarks, source="test-detector")
    a, b = alignment_matrices([face, other], 48)
    assert not np.allclose(a, b)


def test_box_only_faces_keep_the_box_crop_whatever_their_source(shifted_source):
    box = np.array([10, 20, 110, 120], np.float32)
    faces = [Detection(box=box, score=0.9, source="test-detector"), Detection(box=box, score=0.9)]
    a, b = alignment_matrices(faces, 48, 1.2)
    np.testing.assert_allclose(a, alignment.box_matrix(box, 48, 1.2))
    np.testing.assert_allclose(b, a)


def test_to_detections_tags_the_source():
    boxes = np.array([[10, 10, 60, 60]], np.float32)
    kps = (BLAZE * 50 + 10)[None].astype(np.float32)
    scores = np.array([0.9], np.float32)
    assert to_detections(boxes, kps, scores, (100, 100))[0].source == "blazeface"
    assert to_detections(boxes, kps, scores, (100, 100), 0.3, "yunet")[0].source == "yunet"


def test_a_carried_track_keeps_its_keypoints_source():
    last = _faces(["yunet"])[0]
    moved = _carried(last, last.box + 5)
    assert moved.source == "yunet"
    assert _carried(_faces([None])[0], last.box).source is None


def test_detection_source_defaults_to_none():
    assert Detection(box=np.zeros(4), score=1.0).source is None


def test_yunet_has_its_own_template_close_to_blazefaces():
    yunet = template_for("yunet")
    assert template_name("yunet") == "yunet"
    assert yunet is TEMPLATES["yunet"] and yunet is not TEMPLATES["blazeface"]
    # measured: YuNet's points sit within 0.02 of the crop side of BlazeFace's (docs/guide/detection.md)
    assert 0 < np.abs(yunet - BLAZE).max() < 0.02


# --- on real photos: the keypoints carry their detector's name, and the crops agree -----------------------------


def _pixels_apart(a: np.ndarray, b: np.ndarray, size: int = 48) -> float:
    """RMS distance (crop pixels) between where the pixels of two size x size crops come from in the image."""
    from ferkit.faces.alignment import invert_affine, transform_points

    grid = np.stack(np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5), -1).reshape(-1, 2)
    there = transform_points(b, transform_points(invert_affine(a), grid))
    return float(np.sqrt(((there - grid) ** 2).sum(1).mean()))


@pytest.fixture(scope="module")
def auto_detector():
    from ferkit.faces.auto import AutoDetector

    detector = AutoDetector(threads=1)
    if detector.photo is None:
        pytest.skip("YuNet cannot run here (onnxruntime or its weights missing)")
    return detector


PORTRAITS = ["angry.jpg", "neutral.jpeg", "surprised.jpeg", "happy-baby.jpeg", "sad-baby.jpeg", "meds-aa-S001-01.jpg"]


@pytest.fixture(scope="module")
def portrait_pairs(auto_detector, samples_dir):
    """(BlazeFace's face, YuNet's face) of each single-face sample photo."""
    from ferkit.faces import load_image

    out = []
    for name in PORTRAITS:
        rgb = load_image(samples_dir / "images" / name)
        blaze = [d for d in auto_detector.detect_with_candidates(rgb, auto_detector.min_score) if d.score >= 0.5]
        yunet = auto_detector.detect(rgb)
        assert blaze and yunet, name
        out.append((name, max(blaze, key=lambda d: d.width), max(yunet, key=lambda d: d.width)))
    return out


@pytest.mark.realdata
def test_detectors_tag_their_keypoints(portrait_pairs):
    for name, blaze, yunet in portrait_pairs:
        assert blaze.source == "blazeface", name
        assert yunet.source == "yunet", name


@pytest.mark.realdata
def test_yunet_crops_land_where_blazeface_crops_do(portrait_pairs):
    """The YuNet-aligned 48 px crop of each portrait is within a few pixels of the BlazeFace-aligned one (the two
    detectors' points on one face differ: 3.3 px RMS at this size on 967 CK+ frames), much closer than a template
    0.1 of the crop off would put it."""
    off = Detection(box=np.zeros(4), score=1.0, source="test-off")
    apart, apart_off = [], []
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(TEMPLATES, "test-off", TEMPLATES["yunet"] + [0.0, 0.1])
        for _, blaze, yunet in portrait_pairs:
            b, y = alignment_matrices([blaze, yunet], 48)
            off.landmarks = yunet.landmarks
            apart.append(_pixels_apart(y, b))
            apart_off.append(_pixels_apart(alignment_matrices([off], 48)[0], b))
    assert max(apart) < 7.0, apart  # measured: 1.3 to 5.8 px
    assert np.mean(apart) < 4.0, apart  # measured: 3.3 px, as on the CK+ frames and all sample faces
    assert np.mean(apart_off) > np.mean(apart) + 2.0, (apart, apart_off)
