"""lab/tools/measure_yunet_template.py: the template fits and crop errors, on keypoints made by hand."""

from __future__ import annotations

import numpy as np
import pytest
from lab_tools import ROOT, load_tool

from ferkit.faces.templates import template_for


@pytest.fixture(scope="module")
def tool():
    return load_tool("measure_yunet_template")


def test_symmetric_median_mirrors_the_eyes(tool):
    points = np.array([[[0.30, 0.40], [0.66, 0.38], [0.52, 0.60], [0.51, 0.76]]] * 3)
    got = tool.symmetric_median(points)
    np.testing.assert_allclose(got, [[0.32, 0.39], [0.68, 0.39], [0.5, 0.6], [0.5, 0.76]], atol=1e-12)


def test_fer_median_reads_points_in_fer_crop_units(tool):
    t = template_for("blazeface")
    upscaled = (t * 48 + tool.PAD) * tool.UP  # where the template's points lie in a padded, upscaled face
    found = [(None, upscaled, upscaled + 4.0)] * 2  # YuNet's 4 original pixels = 1 FER pixel right and down
    np.testing.assert_allclose(tool.fer_median(found, "fer2013", which=1), t, atol=1e-12)
    np.testing.assert_allclose(tool.fer_median(found, "fer2013", which=2), t + [0, 1 / 48], atol=1e-12)
    as_is = [(None, t * 48, t * 48)]
    np.testing.assert_allclose(tool.fer_median(as_is, "fer2013-48", which=2), t, atol=1e-12)


def test_truth_errors_are_zero_on_the_template_and_grow_with_a_shift(tool):
    t = template_for("blazeface")
    on = [(None, t * 48, t * 48)]
    assert tool.truth_errors(on, "fer2013-48", 1, t) == pytest.approx(0.0, abs=1e-9)
    shifted = [(None, t * 48, t * 48 + [3.0, 4.0])]  # YuNet's points 5 px off the face's
    assert tool.truth_errors(shifted, "fer2013-48", 2, t) == pytest.approx(5.0)
    assert tool.truth_errors(shifted, "fer2013-48", 2, t + [3 / 48, 4 / 48]) == pytest.approx(0.0, abs=1e-9)


def test_crop_errors_compare_the_two_alignments(tool):
    t = template_for("blazeface")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (96, 96, 3), np.uint8)
    b = t * 60 + 18
    same = tool.crop_errors([(image, b, b)], t)
    assert same["shift_px_mean"] == pytest.approx(0.0, abs=1e-9) and same["grey_abs_mean"] == 0.0
    moved = tool.crop_errors([(image, b, b + [0.0, 60 * 0.05])], t)  # YuNet's points 0.05 of the face lower
    assert moved["shift_px_mean"] == pytest.approx(0.05 * 48)
    assert tool.crop_errors([(image, b, b + [0.0, 3.0])], t + [0, 0.05])["shift_px_mean"] == pytest.approx(0, abs=1e-9)


def test_the_shipped_yunet_template_is_the_recorded_measurement():
    import json

    record = json.loads((ROOT / "lab" / "results" / "yunet_template.json").read_text())
    assert record["fit"] == "fer2013" and record["method"] == "fer"
    np.testing.assert_allclose(template_for("yunet"), record["template"], atol=1e-12)


def test_median_and_crops_fits_recover_a_constant_offset(tool):
    """YuNet's points 0.03 of the face lower than BlazeFace's on every face: the median puts the template 0.03
    lower, and the crops fit finds a template whose crops are BlazeFace's."""
    t = template_for("blazeface")
    rng = np.random.default_rng(1)
    found = []
    for _ in range(6):
        side, corner = rng.uniform(60, 200), rng.uniform(0, 100, 2)
        b = t * side + corner
        found.append((None, b, b + [0.0, 0.03 * side]))
    units = tool.in_blaze_crop(found)
    np.testing.assert_allclose(units, np.broadcast_to(t + [0, 0.03], units.shape), atol=1e-12)
    np.testing.assert_allclose(tool.symmetric_median(units), t + [0, 0.03], atol=1e-12)
    # the crops fit is not unique (a change of the template's shape that leaves the least-squares similarity as
    # it is gives the same crops); what it must find is crops that agree
    image = np.zeros((320, 320), np.uint8)
    fitted = tool.fit_crops(found, t)
    assert tool.crop_errors([(image, b, y) for _, b, y in found], fitted)["shift_px_mean"] < 1e-3
    assert tool.crop_errors([(image, b, y) for _, b, y in found], t)["shift_px_mean"] > 1.0


def test_crops_fit_on_tilted_faces(tool):
    """Faces tilted by up to 25 degrees: the crops fit must undo each face's rotation (a wrong inverse of the
    BlazeFace alignment, e.g. its transpose, leaves the crops apart)."""
    t = template_for("blazeface")
    rng = np.random.default_rng(2)
    found = []
    for _ in range(6):
        side, corner, angle = rng.uniform(60, 200), rng.uniform(60, 100, 2), np.radians(rng.uniform(-25, 25))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        b = (t * side) @ rot.T + corner
        found.append((None, b, b + rot @ [0.0, 0.03 * side]))
    image = np.zeros((400, 400), np.uint8)
    fitted = tool.fit_crops(found, t)
    assert tool.crop_errors([(image, b, y) for _, b, y in found], fitted)["shift_px_mean"] < 1e-3
