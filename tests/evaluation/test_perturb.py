"""Perturbations: each changes exactly what it claims, is reproducible and leaves its input untouched."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.evaluation import perturb as P


@pytest.fixture()
def faces() -> np.ndarray:
    return np.random.default_rng(0).integers(1, 255, (3, 48, 48), dtype=np.uint8)


@pytest.mark.parametrize("region", list(P.REGIONS))
def test_occlusion_changes_exactly_its_region(faces, region):
    before = faces.copy()
    out = P.occlude_region(faces, region, fill=0)
    np.testing.assert_array_equal(faces, before)  # input untouched
    top, bottom, left, right = P.box_pixels(P.REGIONS[region], 48, 48)
    inside = np.zeros((48, 48), bool)
    inside[top:bottom, left:right] = True
    assert (out[:, inside] == 0).all()
    np.testing.assert_array_equal(out[:, ~inside], faces[:, ~inside])
    assert inside.any()


def test_halves_and_eye_band_sit_where_the_face_template_says():
    assert P.box_pixels(P.REGIONS["upper"], 48, 48) == (0, 24, 0, 48)
    assert P.box_pixels(P.REGIONS["left"], 48, 48) == (0, 48, 0, 24)
    top, bottom, _, _ = P.box_pixels(P.REGIONS["eyes"], 48, 48)
    assert top <= 0.3816 * 48 <= bottom  # FER_TEMPLATE eye height
    top, bottom, _, _ = P.box_pixels(P.REGIONS["mouth"], 48, 48)
    assert top <= 0.7552 * 48 <= bottom


def test_random_patches_cover_the_requested_area_reproducibly(faces):
    a = P.random_patches(faces, area=0.25, seed=3)
    np.testing.assert_array_equal(a, P.random_patches(faces, area=0.25, seed=3))
    assert ((a == 0).sum(axis=(1, 2)) == 24 * 24).all()
    assert not np.array_equal(a, P.random_patches(faces, area=0.25, seed=4))


def test_geometric_perturbations(faces):
    np.testing.assert_array_equal(P.rotate(faces, 0), faces)
    np.testing.assert_array_equal(P.squeeze(faces, 1.0), faces)
    assert not np.array_equal(P.rotate(faces, 15), faces)
    # a 90-degree turn of a symmetric frame maps the top row onto the left column
    ramp = np.tile(np.arange(48, dtype=np.uint8)[:, None], (1, 1, 48))  # value = row index
    turned = P.rotate(ramp, 90)[0]
    assert turned[24, 0] < turned[24, 47]  # counter-clockwise: top row -> left column
    columns = np.tile(np.arange(48, dtype=np.uint8)[None, :], (1, 48, 1))  # value = column index
    squeezed = P.squeeze(columns, 0.5)[0, 10].astype(float)  # column x shows cx + (x - cx) / 0.5
    assert abs(squeezed[30] - 36.5) <= 0.5 and squeezed[40] == 47
    yawed = P.yaw(faces, 0.3)
    np.testing.assert_array_equal(yawed[:, :, 0], faces[:, :, 0])  # the near edge stays put
    assert not np.array_equal(yawed[:, :, -1], faces[:, :, -1])
    np.testing.assert_array_equal(P.yaw(faces, -0.3), P.yaw(faces[:, :, ::-1], 0.3)[:, :, ::-1])


def test_photometric_perturbations(faces):
    assert (P.brightness(faces, 300) == 255).all()
    np.testing.assert_array_equal(P.brightness(faces, 0), faces)
    low = P.contrast(faces, 0.5).astype(float)
    assert low.std() < faces.astype(float).std()
    assert P.blur(faces, 2.0).astype(float).std() < faces.astype(float).std()
    np.testing.assert_array_equal(P.noise(faces, 10, seed=1), P.noise(faces, 10, seed=1))
    assert P.noise(faces, 10).dtype == np.uint8


def test_catalogue_families_and_resolution():
    assert set(P.FAMILIES) == {"occlusion", "pose", "brightness", "contrast", "blur", "noise", "jpeg", "lowres"}
    assert P.resolve(["jpeg", "lowres"]) == ["jpeg_50", "jpeg_25", "jpeg_10", "lowres_24", "lowres_16", "lowres_12"]
    assert P.resolve(["occlusion"])[:2] == ["occlude_eyes", "occlude_mouth"]
    assert P.resolve(["blur_1.0,pose", "blur_1.0"])[0] == "blur_1.0"
    assert len(P.resolve(["all"])) == len(P.PERTURBATIONS)
    with pytest.raises(ValueError, match="unknown perturbation"):
        P.resolve(["sunburn"])
    for name, fn in P.PERTURBATIONS.items():
        out = fn(np.full((2, 48, 48), 128, np.uint8))
        assert out.shape == (2, 48, 48) and out.dtype == np.uint8, name


def test_non_uint8_input_is_rejected():
    with pytest.raises(ValueError, match="uint8"):
        P.occlude_region(np.zeros((1, 48, 48), np.float32), "eyes")


def test_jpeg_is_a_real_round_trip_and_lower_quality_loses_more(faces):
    smooth = np.stack([np.tile(np.linspace(40, 200, 48, dtype=np.float32), (48, 1))] * 2).astype(np.uint8)
    assert np.abs(P.jpeg(smooth, 95).astype(float) - smooth).mean() < 2  # a smooth ramp survives
    before = faces.copy()
    errors = [np.abs(P.jpeg(faces, q).astype(float) - faces).mean() for q in (90, 50, 10)]
    np.testing.assert_array_equal(faces, before)
    assert errors[0] < errors[1] < errors[2]
    np.testing.assert_array_equal(P.jpeg(faces, 50), P.jpeg(faces, 50))  # deterministic


def test_lowres_keeps_the_size_and_removes_detail(faces):
    out = P.lowres(faces, 12)
    assert out.shape == faces.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(P.lowres(faces, 48), faces)  # full size: identity
    detail = [np.abs(np.diff(P.lowres(faces, s).astype(float), axis=2)).mean() for s in (24, 16, 12)]
    assert detail[0] > detail[1] > detail[2]
    flat = np.full((1, 48, 48), 77, np.uint8)
    np.testing.assert_array_equal(P.lowres(flat, 16), flat)
