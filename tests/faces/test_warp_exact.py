"""The face warp pinned exactly: the large-downscale path against an independent computation of its region,
margins, resize and composed matrix on a noise image (where a one-pixel shift shows), the plain path's border
rule, and the similarity fit on tiny point sets."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ferkit.faces.alignment import alignment_matrix, box_matrix, similarity_matrices, warp
from ferkit.faces.types import Detection

H, W = 700, 900


def noise(channels: int = 0) -> np.ndarray:
    shape = (H, W, channels) if channels else (H, W)
    return np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)


def expected_downscale(image: np.ndarray, matrix: np.ndarray, width: int, height: int) -> np.ndarray:
    """The crop written out step by step (the corners are kept off whole pixels, where floor and ceil would depend
    on how the inverse is rounded): source bounding box of the crop's corners, 2 px margins, clipped to
    the image, area-resized to twice the crop's resolution, then the matrix composed with the resize."""
    a, b, c, d = matrix[0, 0], matrix[0, 1], matrix[1, 0], matrix[1, 1]
    scale = np.sqrt(abs(a * d - b * c))
    assert scale < 0.5  # the cases below all are downscales
    inv = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))
    xs, ys = [], []
    for u, v in ((0, 0), (width, 0), (0, height), (width, height)):
        x, y, _ = inv @ [u, v, 1]
        xs.append(x)
        ys.append(y)
    x0 = min(max(int(np.floor(min(xs))) - 2, 0), W)
    y0 = min(max(int(np.floor(min(ys))) - 2, 0), H)
    x1 = min(max(int(np.ceil(max(xs))) + 2, 0), W)
    y1 = min(max(int(np.ceil(max(ys))) + 2, 0), H)
    if x1 - x0 < 2 or y1 - y0 < 2:  # a region under 2 px wide or high: the plain warp
        return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sw, sh = max(1, round((x1 - x0) * 2 * scale)), max(1, round((y1 - y0) * 2 * scale))
    small = cv2.resize(image[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA)
    composed = matrix @ np.array([[(x1 - x0) / sw, 0, x0], [0, (y1 - y0) / sh, y0], [0, 0, 1]])
    return cv2.warpAffine(small, composed, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize(
    "matrix, size",
    [
        ([[0.1, 0, -30.55], [0, 0.1, -20.37]], 48),  # inside the image, square
        ([[0.1, 0, -30.55], [0, 0.1, -20.37]], (60, 40)),  # width 60, height 40
        ([[0.03, 0.03, -12], [-0.03, 0.03, 14]], 48),  # rotated, scale 0.042, translations far from the scale
        ([[0.2, 0, 5.13], [0, 0.2, 3.07]], 64),  # the crop starts left of and above the image: clipped at 0
        ([[0.15, 0, -121.1], [0, 0.15, -95]], 48),  # the crop runs past the right and bottom edges: clipped at W, H
        ([[0.26, 0.05, -90], [-0.05, 0.26, -40]], (50, 30)),  # scale 0.265: the region shrinks by 0.53 only
        ([[0.1732, 0.1, -60.3], [-0.1, 0.1732, 20.7]], 48),  # rotated by -30 degrees: each corner is extreme
        ([[0.1732, -0.1, -10.3], [0.1, 0.1732, -80.7]], 48),  # rotated by +30 degrees
        ([[0.2, 0, -0.2 * (W + 0.5)], [0, 0.2, -40.3]], 24),  # right of the image: a region 2 px wide (one after)
        ([[0.2, 0, -0.2 * (W + 1.5)], [0, 0.2, -40.3]], 24),  # a region 1 px wide: the plain warp
        ([[0.2, 0, -40.3], [0, 0.2, -0.2 * (H + 0.5)]], 24),  # below the image: a region 2 px high
        ([[0.2, 0, -40.3], [0, 0.2, -0.2 * (H + 1.5)]], 24),  # a region 1 px high: the plain warp
    ],
)
@pytest.mark.parametrize("channels", [0, 3])
def test_downscale_path_equals_the_step_by_step_crop(matrix, size, channels):
    matrix = np.array(matrix, np.float64)
    width, height = (size, size) if isinstance(size, int) else size
    image = noise(channels)
    np.testing.assert_array_equal(warp(image, matrix, size), expected_downscale(image, matrix, width, height))


def test_downscale_path_uses_the_given_border_rule():
    matrix = np.array([[0.2, 0, 40], [0, 0.2, 30]])  # the image covers only the crop's bottom-right part
    image = np.full((H, W), 200, np.uint8)
    crop = warp(image, matrix, 64, border=cv2.BORDER_CONSTANT)
    assert crop[0, 0] == 0 and crop[-1, -1] == 200
    assert warp(image, matrix, 64)[0, 0] == 200  # repeated edge pixels by default


def test_plain_path_repeats_edge_pixels_by_default_and_uses_the_given_rule():
    matrix = np.array([[1.0, 0, 20], [0, 1.0, 10]])  # scale 1: no downscale; the crop starts outside the image
    image = np.full((100, 100), 200, np.uint8)
    assert warp(image, matrix, 48)[0, 0] == 200
    assert warp(image, matrix, 48, border=cv2.BORDER_CONSTANT)[0, 0] == 0
    np.testing.assert_array_equal(
        warp(noise(), matrix, 48),
        cv2.warpAffine(noise(), matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE),
    )


def test_a_tiny_region_is_not_downscaled():
    # scale 0.01 and a 1-pixel-wide image: the region is narrower than 2 px, so the plain warp runs
    image = np.random.default_rng(1).integers(0, 256, (400, 1), dtype=np.uint8)
    matrix = np.array([[0.01, 0, 0], [0, 0.01, 0]])
    plain = cv2.warpAffine(image, matrix, (4, 4), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(warp(image, matrix, 4), plain)


def test_similarity_of_a_tiny_point_set_keeps_its_scale():
    # points spread over a tenth of a pixel (variance far below 1): the fit must still scale them up exactly
    src = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    m = similarity_matrices(src[None], src * 300 + [5, 7])[0]
    np.testing.assert_allclose(m, [[300, 0, 5], [0, 300, 7]], atol=1e-9)


def test_alignment_matrix_passes_the_crop_scale_to_box_crops():
    det = Detection(box=np.array([10.0, 20.0, 50.0, 60.0]), score=0.9)
    np.testing.assert_allclose(alignment_matrix(det, 48, crop_scale=2.0), box_matrix(det.box, 48, 2.0))
    assert not np.allclose(alignment_matrix(det, 48, crop_scale=2.0), alignment_matrix(det, 48))
