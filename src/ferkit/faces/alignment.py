"""Face alignment: a similarity transform from detected landmarks to the model's crop template.

Every crop comes with the 2x3 matrix that produced it (original pixels -> crop pixels), so anything found in
the crop maps back to the original image with :func:`invert_affine`.

The template is where eyes, nose tip and mouth centre sit in a FER2013 48x48 face (loosely framed, forehead to
chin), in units of the crop side, as the detector that found the face places them: each detection's
``source`` picks its template (:mod:`ferkit.faces.templates`), BlazeFace's where it has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ferkit.faces.templates import template_for, template_name
from ferkit.faces.types import Detection

# BlazeFace's template (right eye, left eye, nose tip, mouth centre, x and y in [0, 1] of the crop side): the
# one for keypoints of unknown source, and the one the browser page and other modules quote.
FER_TEMPLATE = template_for(None)
# For box-only detections: crop side relative to the box side; each detector sets its own (FaceDetector).
DEFAULT_CROP_SCALE = 1.0


@dataclass
class AlignedFace:
    """crop: (S, S) uint8 grey (or (S, S, 3) when aligned from colour); matrix: 2x3, original -> crop pixels."""

    crop: np.ndarray
    matrix: np.ndarray


def similarity_matrices(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation mapping each src[i] (N, K, 2) onto dst (K, 2);
    (N, 2, 3) matrices.

    In 2-D a similarity without reflection is multiplication by one complex number, so Umeyama's (1991) SVD
    solution reduces to the closed form z = sum(conj(s) * d) / sum(|s|^2) on centred points. It gives the same
    matrices as the SVD, for every face of a frame in a few array operations (this runs for every face of every
    video frame)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(1), dst.mean(0)
    s, d = src - mu_s[:, None], dst - mu_d
    var_s = np.maximum((s * s).sum((1, 2)), 1e-12)
    a = (s[..., 0] * d[:, 0] + s[..., 1] * d[:, 1]).sum(1) / var_s  # scale * cos(angle)
    b = (s[..., 0] * d[:, 1] - s[..., 1] * d[:, 0]).sum(1) / var_s  # scale * sin(angle)
    tx = mu_d[0] - (a * mu_s[:, 0] - b * mu_s[:, 1])
    ty = mu_d[1] - (b * mu_s[:, 0] + a * mu_s[:, 1])
    return np.stack([np.stack([a, -b, tx], 1), np.stack([b, a, ty], 1)], 1)


def umeyama_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 similarity of :func:`similarity_matrices` for one point set src (K, 2)."""
    return similarity_matrices(np.asarray(src)[None], dst)[0]


def box_matrix(box: np.ndarray, size: int, crop_scale: float = DEFAULT_CROP_SCALE) -> np.ndarray:
    """Square crop centred on the box, side = crop_scale * max(box w, h), scaled to size x size."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0) * crop_scale
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    s = size / side
    return np.array([[s, 0.0, size / 2 - s * cx], [0.0, s, size / 2 - s * cy]])


def _has_landmarks(detection: Detection) -> bool:
    lm = detection.landmarks
    return lm is not None and len(lm) >= 4 and bool(np.isfinite(lm[:4]).all())


def alignment_matrix(detection: Detection, size: int, crop_scale: float = DEFAULT_CROP_SCALE) -> np.ndarray:
    """Landmark similarity transform onto the template of the detection's source when it has eyes/nose/mouth,
    else the box crop."""
    return alignment_matrices([detection], size, crop_scale)[0]


def alignment_matrices(detections: list[Detection], size: int, crop_scale: float = DEFAULT_CROP_SCALE) -> np.ndarray:
    """(N, 2, 3) :func:`alignment_matrix` of each detection, the landmark fits of all faces at once."""
    out = np.empty((len(detections), 2, 3))
    with_lm = [i for i, d in enumerate(detections) if _has_landmarks(d)]
    by_template: dict[str, list[int]] = {}
    for i in with_lm:
        by_template.setdefault(template_name(detections[i].source), []).append(i)
    for name, faces in by_template.items():
        points = np.stack([detections[i].landmarks[:4] for i in faces])
        out[faces] = similarity_matrices(points, template_for(name) * size)
    for i, d in enumerate(detections):
        if i not in with_lm:
            out[i] = box_matrix(d.box, size, crop_scale)
    return out


def warp(
    image: np.ndarray, matrix: np.ndarray, size: int | tuple[int, int], border: int = cv2.BORDER_REPLICATE
) -> np.ndarray:
    """Apply an original->crop matrix; size: the crop side, or (width, height). Large downscales go through an
    area-resized region first, so a 500 px face does not alias into the 48 px crop. border: OpenCV's border
    rule outside the image (repeated edge pixels by default; BORDER_CONSTANT gives zeros)."""
    width, height = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    scale = float(np.sqrt(abs(matrix[0, 0] * matrix[1, 1] - matrix[0, 1] * matrix[1, 0])))
    if scale < 0.5:
        inv = invert_affine(matrix)
        corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], np.float64)
        pts = corners @ inv[:, :2].T + inv[:, 2]
        h, w = image.shape[:2]
        x0, y0 = np.clip(np.floor(pts.min(0)).astype(int) - 2, 0, [w, h])
        x1, y1 = np.clip(np.ceil(pts.max(0)).astype(int) + 2, 0, [w, h])
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            k = min(1.0, 2 * scale)  # keep 2x the crop resolution, then the warp interpolates
            region = image[y0:y1, x0:x1]
            small = cv2.resize(
                region, (max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))), interpolation=cv2.INTER_AREA
            )
            ky = small.shape[0] / (y1 - y0)
            kx = small.shape[1] / (x1 - x0)
            # crop = M (p) with p = (q / k) + offset, q in the small region
            to_region = np.array([[1 / kx, 0, x0], [0, 1 / ky, y0], [0, 0, 1]])
            m = matrix @ to_region
            return cv2.warpAffine(small, m, (width, height), flags=cv2.INTER_LINEAR, borderMode=border)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=border)


def align_face(
    image: np.ndarray, detection: Detection, size: int, crop_scale: float = DEFAULT_CROP_SCALE
) -> AlignedFace:
    """image: (H, W) grey or (H, W, 3) uint8; size: the model's Preprocess.source_size."""
    return align_faces(image, [detection], size, crop_scale)[0]


def align_faces(
    image: np.ndarray, detections: list[Detection], size: int, crop_scale: float = DEFAULT_CROP_SCALE
) -> list[AlignedFace]:
    """:func:`align_face` for every detection of one image (the matrices computed together)."""
    return [AlignedFace(crop=warp(image, m, size), matrix=m) for m in alignment_matrices(detections, size, crop_scale)]


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """2x3 inverse: crop pixels -> original pixels."""
    return cv2.invertAffineTransform(np.asarray(matrix, np.float64))


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]
