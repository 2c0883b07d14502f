"""Pose / occlusion-proxy subsets chosen by the face pipeline's keypoints."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ferkit.evaluation.face_subsets import FaceGeometry, estimate_geometry, keypoint_pose, select

# right eye, left eye, nose, mouth, right ear, left ear of a frontal face (image x grows to the right)
FRONTAL = np.array([[35, 40], [65, 40], [50, 55], [50, 70], [20, 48], [80, 48]], np.float64)


def rotate(points: np.ndarray, degrees: float, centre=(50, 50)) -> np.ndarray:
    t = np.radians(degrees)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return (points - centre) @ r.T + centre


def test_frontal_keypoints_give_zero_pose():
    roll, yaw = keypoint_pose(FRONTAL)
    assert roll == pytest.approx(0, abs=1e-9) and yaw == pytest.approx(0, abs=1e-9)


def test_roll_is_the_eye_line_angle_and_does_not_leak_into_yaw():
    roll, yaw = keypoint_pose(rotate(FRONTAL, 25))
    assert roll == pytest.approx(25, abs=1e-6)
    assert yaw == pytest.approx(0, abs=1e-6)


def test_yaw_follows_tan_model_of_a_round_head():
    # head turned by 30 degrees: nose at r*sin(y), ears at -+r*cos(y) (r = 30 px, centre x = 50)
    y, r = np.radians(30), 30.0
    pts = FRONTAL.copy()
    pts[2, 0] = 50 + r * np.sin(y)
    pts[4, 0], pts[5, 0] = 50 - r * np.cos(y), 50 + r * np.cos(y)
    roll, yaw = keypoint_pose(pts)
    assert yaw == pytest.approx(30, abs=1e-6)
    mirrored = pts.copy()
    mirrored[2, 0] = 100 - pts[2, 0]
    assert keypoint_pose(mirrored)[1] == pytest.approx(-30, abs=1e-6)


def test_select_partitions_by_pose_and_confidence():
    g = FaceGeometry(
        detected=np.array([True, True, True, False, True]),
        score=np.array([0.9, 0.9, 0.9, 0.0, 0.4], np.float32),
        roll=np.array([2, 35, 1, np.nan, 0], np.float32),
        yaw=np.array([5, 0, -40, np.nan, 3], np.float32),
    )
    assert select(g, "pose").tolist() == [1, 2]
    assert select(g, "occlusion").tolist() == [3, 4]
    assert select(g, "frontal").tolist() == [0]
    assert select(g, "pose", pose_deg=38).tolist() == [2]
    with pytest.raises(ValueError, match="unknown face subset"):
        select(g, "sideways")


@pytest.mark.realdata
def test_detector_finds_most_fer2013_crops(data_root):
    from ferkit.data import load_dataset

    ds = load_dataset("fer2013", "PublicTest", data_root)
    g = estimate_geometry(ds.images[:60], progress=False)
    assert g.detected.mean() > 0.85
    assert np.isfinite(g.yaw[g.detected]).all() and np.isfinite(g.roll[g.detected]).all()
    assert np.nanmedian(np.abs(g.roll)) < 15  # most FER2013 faces are roughly upright
    assert (g.score[~g.detected] == 0).all()


@pytest.mark.realdata
def test_evaluate_face_subset_cli(data_root, untrained_fer2013_model, tmp_path):
    from ferkit.cli.main import main as cli

    model = untrained_fer2013_model
    out = tmp_path / "r.json"
    assert (
        cli(
            [
                "evaluate",
                "--model",
                str(model),
                "--dataset",
                "fer2013",
                "--data-root",
                str(data_root),
                "--subset",
                "80",
                "--face-subset",
                "frontal",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    info = result["face_subset"]
    assert info["name"] == "frontal" and info["of"] == 80 and 0 < info["n"] < 80 and result["n"] == info["n"]


@pytest.mark.realdata
def test_empty_face_subset_is_a_clear_error(data_root, untrained_fer2013_model, capsys):
    from ferkit.cli.main import main as cli

    # |yaw| from the ear keypoints is at most 45 degrees and these faces are upright, so nothing qualifies
    code = cli(
        [
            "evaluate",
            "--model",
            str(untrained_fer2013_model),
            "--dataset",
            "fer2013",
            "--data-root",
            str(data_root),
            "--subset",
            "20",
            "--face-subset",
            "pose",
            "--pose-deg",
            "170",
        ]
    )
    assert code == 2
    assert "no image of fer2013 PublicTest qualifies" in capsys.readouterr().err
