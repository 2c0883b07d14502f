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
