"""Annotation layout on a real group photo: probability panels never cover another face, label or panel."""

from __future__ import annotations

import numpy as np

from ferkit.faces import load_image
from ferkit.inference.drawing import annotate, label_rects, panel_layout


def _overlap(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def test_group_photo_panels_cover_no_other_face_or_label(recognizer, samples_dir):
    rgb = load_image(samples_dir / "images" / "group.jpeg")
    faces = recognizer.predict(rgb)
    assert len(faces) >= 4
    panels, labels = panel_layout(rgb.shape, faces), label_rects(rgb.shape, faces)
    h, w = rgb.shape[:2]
    for i, panel in enumerate(panels):
        assert 0 <= panel[0] < panel[2] <= w and 0 <= panel[1] < panel[3] <= h
        for j, face in enumerate(faces):
            if j != i:
                assert not _overlap(panel, face.box), (i, j)
                assert not _overlap(panel, labels[j]), (i, j)
                assert not _overlap(panel, panels[j]), (i, j)
        assert not _overlap(panel, faces[i].box)
    for label in labels:  # group.jpeg has a face touching the top edge: its label must not leave the image
        assert 0 <= label[1] and label[3] <= h, label
    out = annotate(rgb, faces)
    assert out.shape == rgb.shape and not np.array_equal(out, rgb)
    x1, y1, x2, y2 = panels[0]
    assert not np.array_equal(out[y1:y2, x1:x2], rgb[y1:y2, x1:x2])  # the panel is drawn where laid out


def test_crowded_faces_still_get_panels_inside_the_image(recognizer, samples_dir):
    from ferkit.inference.results import FaceResult

    probs = dict.fromkeys(recognizer.labels, 1 / len(recognizer.labels))
    faces = [
        FaceResult(
            box=np.array([x, 10, x + 60, 70], np.float32), score=0.9, probabilities=probs, label=recognizer.labels[0]
        )
        for x in range(0, 300, 60)
    ]
    panels = panel_layout((120, 300, 3), faces)  # no room anywhere: the least-covering spot, in the image
    assert len(panels) == 5 and all(0 <= p[0] and p[2] <= 300 and 0 <= p[1] and p[3] <= 120 for p in panels)
