"""Where each detector's keypoints sit in ferkit's FER crop: one alignment template per keypoint source.

A template is (4, 2): right eye, left eye, nose tip, mouth centre (subject's right/left), x and y in [0, 1] of
the crop side. Detectors place their keypoints differently on the same face (YuNet's mouth point is the mean of
two mouth corners, BlazeFace's a point of its own), so each source gets the template measured for it, and a
face aligned from either lands in the same framing: the one the FER models were trained on.

``blazeface``: measured by ``tools/estimate_face_template.py``: BlazeFace run on 2,000 FER2013 PublicTest faces
(upscaled and padded; found in 1173), median keypoint positions made left-right symmetric (measured: eyes
(0.318, 0.388) and (0.678, 0.376), nose (0.510, 0.593), mouth (0.517, 0.755)).

``yunet``: the same procedure on YuNet's keypoints (eyes, nose, mouth centre as the mean of its two mouth
corners) from ``auto``'s photo passes, on the same 2,000 PublicTest faces (found by both detectors in 1812):
``lab/tools/measure_yunet_template.py --fit fer2013 --method fer`` (record: ``lab/results/yunet_template.json``).
It sits within 0.02 of the crop side of BlazeFace's (the nose 0.017 lower, the rest under 0.01): the two
detectors place their points nearly alike, and differ far more from face to face (the detectors' points on one
face are about 0.04 of the crop apart, interquartile range).

A source without a template of its own (unknown, or None) is aligned with BlazeFace's.
"""

from __future__ import annotations

import numpy as np

DEFAULT_SOURCE = "blazeface"


def _frozen(points: list[list[float]]) -> np.ndarray:
    array = np.array(points, dtype=np.float64)
    array.setflags(write=False)
    return array


TEMPLATES: dict[str, np.ndarray] = {
    "blazeface": _frozen([[0.32, 0.3816], [0.68, 0.3816], [0.5, 0.5926], [0.5, 0.7552]]),
    "yunet": _frozen([[0.3226, 0.3886], [0.6774, 0.3886], [0.5, 0.6093], [0.5, 0.7629]]),
}


def template_name(source: str | None) -> str:
    """The name of the template keypoints from ``source`` (a detector name) are aligned with: ``source``
    itself where it has one, else ``"blazeface"``."""
    return source if isinstance(source, str) and source in TEMPLATES else DEFAULT_SOURCE


def template_for(source: str | None) -> np.ndarray:
    """The (4, 2) template (read-only) for keypoints from ``source``: :func:`template_name`'s."""
    return TEMPLATES[template_name(source)]
