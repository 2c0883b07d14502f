"""Annotated images: face boxes, the label with its probability, and per-emotion probability bars."""
from __future__ import annotations

import cv2
import numpy as np

# One fixed colour per canonical label (RGB); unknown labels get grey.
COLOURS = {"neutral": (200, 200, 200), "happiness": (255, 200, 0), "surprise": (0, 200, 255),
           "sadness": (60, 90, 255), "anger": (255, 40, 40), "disgust": (60, 180, 60), "fear": (170, 80, 255),
           "contempt": (255, 120, 200)}


def _text(img, text, org, scale, colour, thickness=1):
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness, cv2.LINE_AA)


def annotate(image: np.ndarray, faces, bars: bool = True, landmarks: bool = True) -> np.ndarray:
    """Return a copy of the RGB image with each FaceResult drawn; the input is not modified."""
    out = image.copy()
    h, w = out.shape[:2]
    unit = max(h, w) / 640.0   # scale strokes and text with the picture
    thick = max(1, round(2 * unit))
    for face in faces:
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        colour = COLOURS.get(face.label, (180, 180, 180))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
        if landmarks and face.landmarks is not None:
            for px, py in face.landmarks[:4]:
                cv2.circle(out, (int(px), int(py)), max(1, thick), (0, 255, 0), -1)
        tag = f"#{face.track_id} " if face.track_id is not None else ""
        scale = 0.5 * unit
        _text(out, f"{tag}{face.label} {face.probability:.0%}", (x1, max(12, y1 - int(6 * unit))), scale, colour,
              max(1, thick // 2))
        if bars:
            _bars(out, face, x1, x2, y2, unit)
    return out


def _bars(img, face, x1, x2, y2, unit):
    h, w = img.shape[:2]
    row = max(8, int(11 * unit))
    bar_w = max(40, int(60 * unit))
    label_w = int(62 * unit)
    n = len(face.probabilities)
    top = y2 + int(4 * unit)
    if top + n * row > h:  # no room below the box: draw inside the bottom of the picture
        top = max(0, h - n * row)
    left = min(max(0, x1), max(0, w - label_w - bar_w))
    overlay = img.copy()
    cv2.rectangle(overlay, (left, top), (left + label_w + bar_w + 4, top + n * row), (0, 0, 0), -1)
    cv2.addWeighted(overlay, 0.45, img, 0.55, 0, dst=img)
    for i, (name, p) in enumerate(face.probabilities.items()):
        y = top + i * row
        colour = COLOURS.get(name, (180, 180, 180))
        cv2.putText(img, name[:9], (left + 2, y + row - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.33 * unit, (255, 255, 255),
                    1, cv2.LINE_AA)
        cv2.rectangle(img, (left + label_w, y + 2), (left + label_w + int(bar_w * float(p)), y + row - 2), colour, -1)
