"""The detection benchmark's scenes: faces land where the ground truth says, backgrounds hold no face, and the
matching rule counts hits and false boxes as documented."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ferkit.faces import Detection, create_detector

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import detection_scenes as scenes  # noqa: E402

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def faces(data_root):
    return scenes.load_faces(data_root, ck_count=4)


def test_match_counts_hits_and_false_boxes():
    truth = np.array([[100, 100, 140, 140], [300, 300, 330, 330]], np.float64)
    found = [
        Detection(np.array([104, 98, 146, 142], np.float32), 0.9),  # on face 0
        Detection(np.array([500, 500, 540, 540], np.float32), 0.8),  # on nothing
        Detection(np.array([290, 290, 390, 390], np.float32), 0.7),
    ]  # face 1's place, 3x too large
    hit, false = scenes.match(truth, found)
    assert hit.tolist() == [True, False] and false == 2


def test_pasted_faces_are_found_where_the_truth_says(faces):
    scene = scenes.size_scene(faces, 120, seed=0)
    assert len(scene.boxes) == 12 and scene.image.shape == (1000, 1600, 3)
    found = create_detector("auto", threads=1).detect(scene.image)
    hit, false = scenes.match(scene.boxes, found)
    assert hit.mean() >= 0.9 and false <= 1


def test_backgrounds_hold_no_face():
    for seed in range(3):
        empty = scenes.empty_scene(seed)
        assert create_detector("auto", threads=1).detect(empty.image) == []
