import cv2
import numpy as np

from ferkit.faces import Detection, create_detector, load_image
from ferkit.faces.alignment import (
    FER_TEMPLATE,
    align_face,
    box_matrix,
    invert_affine,
    transform_points,
    umeyama_similarity,
    warp,
)


def test_umeyama_recovers_similarity():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, t = 0.3, 1.7, np.array([4.0, -7.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ rot.T + t
    m = umeyama_similarity(src, dst)
    assert np.allclose(transform_points(m, src), dst, atol=1e-9)


def _umeyama_svd(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Umeyama (1991) with the SVD and the reflection guard: the reference for the closed form."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.array([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rot = u @ np.diag(sign) @ vt
    scale = (sig * sign).sum() / ((s**2).sum() / len(src))
    return np.hstack([scale * rot, (mu_d - scale * rot @ mu_s)[:, None]])


def test_closed_form_similarity_equals_umeyama_svd_on_noisy_and_mirrored_points():
    rng = np.random.default_rng(1)
    for trial in range(200):
        src = rng.uniform(-50, 150, (4, 2))
        dst = rng.uniform(-50, 150, (4, 2)) if trial % 2 else src[:, ::-1] + rng.normal(0, 5, (4, 2))
        assert np.allclose(umeyama_similarity(src, dst), _umeyama_svd(src, dst), atol=1e-8), trial


def test_align_maps_landmarks_to_template(samples_dir):
    img = load_image(samples_dir / "images" / "angry.jpg")
    det = create_detector("blazeface").detect(img)[0]
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    aligned = align_face(grey, det, 48)
    assert aligned.crop.shape == (48, 48) and aligned.crop.dtype == np.uint8
    mapped = transform_points(aligned.matrix, det.landmarks[:4])
    assert np.abs(mapped - FER_TEMPLATE * 48).max() < 4  # a similarity cannot fit 4 points exactly
    # and back: the crop centre lands inside the face box of the original image
    cx, cy = transform_points(invert_affine(aligned.matrix), [[24, 24]])[0]
    x1, y1, x2, y2 = det.box
    assert x1 < cx < x2 and y1 < cy < y2


def test_box_fallback_and_crop_size():
    det = Detection(box=np.array([100, 50, 200, 150], np.float32), score=0.9, landmarks=None)
    img = np.zeros((300, 300), np.uint8)
    aligned = align_face(img, det, 64, crop_scale=1.2)
    assert aligned.crop.shape == (64, 64)
    assert np.allclose(transform_points(aligned.matrix, [[150, 100]]), [[32, 32]])
    assert np.allclose(aligned.matrix, box_matrix(det.box, 64, 1.2))


def test_large_downscale_is_antialiased_but_equivalent():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (1000, 1000), dtype=np.uint8), (0, 0), 8)
    m = box_matrix(np.array([200, 200, 800, 800]), 48)
    fast = warp(img, m, 48)
    direct = cv2.warpAffine(cv2.GaussianBlur(img, (0, 0), 6), m, (48, 48), flags=cv2.INTER_LINEAR)
    assert fast.shape == (48, 48)
    assert np.abs(fast.astype(int) - direct.astype(int)).mean() < 6


def test_alignment_matrices_of_a_frame_match_one_face_at_a_time():
    """The batched fit (every face of a video frame at once) gives each face the matrix of its own fit; a face
    without usable landmarks gets the box crop."""
    from ferkit.faces.alignment import alignment_matrices, box_matrix
    from ferkit.faces.types import Detection

    rng = np.random.default_rng(3)
    dets = []
    for i in range(5):
        lm = FER_TEMPLATE * rng.uniform(40, 200) + rng.uniform(0, 300, 2) + rng.normal(0, 2, (4, 2))
        lm = np.concatenate([lm, rng.uniform(0, 300, (2, 2))])
        box = np.array([*lm[:4].min(0) - 10, *lm[:4].max(0) + 10], np.float32)
        if i == 2:
            lm[1] = np.nan  # a landmark lost: box crop
        dets.append(Detection(box=box, score=0.9, landmarks=lm.astype(np.float32)))
    batch = alignment_matrices(dets, 48, 1.2)
    for i, d in enumerate(dets):
        one = box_matrix(d.box, 48, 1.2) if i == 2 else umeyama_similarity(d.landmarks[:4], FER_TEMPLATE * 48)
        assert np.allclose(batch[i], one, atol=1e-12), i
    assert alignment_matrices([], 48).shape == (0, 2, 3)
