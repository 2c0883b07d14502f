"""The large-downscale path of the face warp (an area-resized region first, then the affine warp): it must land
each crop pixel where the matrix says and average away detail finer than a crop pixel."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.faces.alignment import invert_affine, warp

H, W = 900, 1200


def ramp() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    return (0.1 * xx + 0.2 * yy).astype(np.float32)


@pytest.mark.parametrize(
    "matrix, size",
    [
        ([[0.05, 0, -10], [0, 0.05, -5]], 48),
        ([[0.05, 0, -10], [0, 0.05, -5]], (60, 40)),  # width 60, height 40
        ([[0.03, 0.03, -20], [-0.03, 0.03, 10]], 48),  # rotated and scaled by 0.042
        ([[0.1, 0, -30], [0, 0.1, -40]], (64, 48)),
    ],
)
def test_each_crop_pixel_samples_where_the_matrix_points(matrix, size):
    matrix = np.array(matrix, np.float64)
    crop = warp(ramp(), matrix, size)
    width, height = (size, size) if isinstance(size, int) else size
    assert crop.shape == (height, width)
    inv = invert_affine(matrix)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    x, y = inv[0, 0] * u + inv[0, 1] * v + inv[0, 2], inv[1, 0] * u + inv[1, 1] * v + inv[1, 2]
    inside = (x > 2) & (y > 2) & (x < W - 3) & (y < H - 3)
    assert inside.mean() > 0.3
    # the ramp's value at the source point, to within half a source pixel of the area-resized grid (<= 2 levels)
    assert np.abs(crop - (0.1 * x + 0.2 * y))[inside].max() < 2.0


def test_fine_detail_is_averaged_not_aliased():
    stripes = np.zeros((H, W), np.uint8)
    stripes[:, ::2] = 255  # a 2-pixel period: far finer than a crop pixel
    crop = warp(stripes, np.array([[0.05, 0, 0], [0, 0.05, 0]]), 40)
    assert np.abs(crop.astype(float) - 127.5).max() < 8  # mid grey everywhere, not stripes or moire


def test_region_at_the_image_edge_and_outside():
    image = np.full((H, W), 200, np.uint8)
    corner = warp(image, np.array([[0.05, 0, 30], [0, 0.05, 30]]), 48)  # the image starts 30 px into the crop
    assert (corner[35:, 35:] == 200).all() and (corner[:20, :20] == 200).all()  # edge pixels repeated
    assert (warp(image, np.array([[0.05, 0, 30], [0, 0.05, 30]]), 48, border=0)[:20, :20] == 0).all()
    far = warp(image, np.array([[0.05, 0, -1000], [0, 0.05, -1000]]), 16, border=0)  # entirely outside: no crash
    assert far.shape == (16, 16)


# ----- matrices ------------------------------------------------------------------------------------------------------
def test_box_matrix_by_hand():
    from ferkit.faces.alignment import box_matrix

    # a 40 x 80 box centred at (120, 140): side = 1.25 * 80 = 100 -> scale 48 / 100, centre to (24, 24)
    m = box_matrix(np.array([100, 100, 140, 180]), 48, crop_scale=1.25)
    assert m == pytest.approx(np.array([[0.48, 0.0, 24 - 0.48 * 120], [0.0, 0.48, 24 - 0.48 * 140]]))
    wide = box_matrix(np.array([100, 100, 200, 120]), 50, crop_scale=1.0)  # the wider side counts: 100
    assert wide[0, 0] == pytest.approx(0.5)
    dot = box_matrix(np.array([10, 10, 10.5, 10.2]), 48, crop_scale=1.0)  # under a pixel: side 1
    assert dot[0, 0] == pytest.approx(48.0)


def test_landmark_rule_needs_four_finite_points():
    from ferkit.faces import Detection
    from ferkit.faces.alignment import FER_TEMPLATE, alignment_matrix, box_matrix, similarity_matrices

    box = np.array([100, 100, 200, 200], np.float32)
    four = (FER_TEMPLATE * 100 + [130, 90]).astype(np.float32)  # the template itself, 100 px wide
    with_four = alignment_matrix(Detection(box=box, score=0.9, landmarks=four), 48)
    assert with_four == pytest.approx(similarity_matrices(four[None], FER_TEMPLATE * 48)[0])
    five = np.vstack([four, [[np.nan, np.nan]]]).astype(np.float32)  # a fifth point may be missing
    assert alignment_matrix(Detection(box=box, score=0.9, landmarks=five), 48) == pytest.approx(with_four)
    three = four[:3]
    assert alignment_matrix(Detection(box=box, score=0.9, landmarks=three), 48) == pytest.approx(box_matrix(box, 48))


def test_similarity_of_translated_integer_points():
    from ferkit.faces.alignment import similarity_matrices, transform_points

    src = np.array([[[0, 0], [10, 0], [0, 10], [10, 10]]])  # integer points
    dst = np.array([[5, 7], [25, 7], [5, 27], [25, 27]])  # doubled and moved by (5, 7)
    m = similarity_matrices(src, dst)[0]
    assert m == pytest.approx(np.array([[2.0, 0.0, 5.0], [0.0, 2.0, 7.0]]))
    assert transform_points(m, np.array([[1, 1]])).tolist() == [pytest.approx([7.0, 9.0])]
    same = similarity_matrices(np.zeros((1, 4, 2)), dst)[0]  # all source points equal: no scale
    assert np.isfinite(same).all() and same[:, 2].tolist() == pytest.approx([15.0, 17.0])


def test_invert_affine_of_integer_matrices():
    m = np.array([[2, 0, 4], [0, 2, 6]])
    assert invert_affine(m) == pytest.approx(np.array([[0.5, 0, -2], [0, 0.5, -3]]))
