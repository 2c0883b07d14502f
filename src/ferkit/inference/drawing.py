"""Annotated images: face boxes, the label with its probability, and per-emotion probability panels.

Panels are placed where they cover no face and no label: below the box, else above its label, right or
left of the box, then further out; only when nothing is free does a panel take the least-covering spot."""

from __future__ import annotations

import cv2
import numpy as np

# One fixed colour per canonical label (RGB); unknown labels get grey.
COLOURS = {
    "neutral": (200, 200, 200),
    "happiness": (255, 200, 0),
    "surprise": (0, 200, 255),
    "sadness": (60, 90, 255),
    "anger": (255, 40, 40),
    "disgust": (60, 180, 60),
    "fear": (170, 80, 255),
    "contempt": (255, 120, 200),
}
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _text(img, text, org, scale, colour, thickness=1):
    cv2.putText(img, text, org, FONT, scale, (0, 0, 0), thickness + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, colour, thickness, cv2.LINE_AA)


def _unit(shape) -> float:
    return max(shape[0], shape[1]) / 640.0  # strokes and text scale with the picture


def _label_text(face) -> str:
    tag = f"#{face.track_id} " if face.track_id is not None else ""
    return f"{tag}{face.label} {face.probability:.0%}"


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return float(w * h) if w > 0 and h > 0 else 0.0


def label_rects(shape, faces) -> list[tuple[int, int, int, int]]:
    """(x1, y1, x2, y2) of each face's label text, drawn just above its box."""
    unit = _unit(shape)
    scale, thick = 0.5 * unit, max(1, max(1, round(2 * unit)) // 2)
    rects = []
    for face in faces:
        x1, y1 = int(round(face.box[0])), int(round(face.box[1]))
        (tw, th), base = cv2.getTextSize(_label_text(face), FONT, scale, thick + 2)
        y = max(th + 2, y1 - int(6 * unit))  # a face at the top edge: the label moves down, never off the image
        rects.append((x1, y - th, x1 + tw, y + base))
    return rects


def panel_size(shape, n_labels: int) -> tuple[int, int]:
    unit = _unit(shape)
    row = max(8, int(11 * unit))
    return int(62 * unit) + max(40, int(60 * unit)) + 4, n_labels * row


def panel_layout(shape, faces) -> list[tuple[int, int, int, int]]:
    """Where each face's probability panel goes: (x1, y1, x2, y2) inside the image, covering no face box, no
    label and no other panel when such a spot exists among the candidates (else the least-covering one)."""
    h, w = shape[:2]
    unit = _unit(shape)
    gap = max(2, int(4 * unit))
    boxes = [tuple(int(round(v)) for v in f.box) for f in faces]
    labels = label_rects(shape, faces)
    placed: list[tuple[int, int, int, int]] = []
    for i, face in enumerate(faces):
        pw, ph = panel_size(shape, len(face.probabilities))
        x1, y1, x2, y2 = boxes[i]
        lx1, ly1 = labels[i][0], labels[i][1]
        candidates = []
        for dx in (0, 1, -1, 2, -2):  # then slide sideways by panel widths
            for px, py in (
                (x1, y2 + gap),
                (lx1, ly1 - gap - ph),
                (x2 + gap, y1),
                (x1 - gap - pw, y1),
                (x2 + gap, y2 - ph),
                (x1 - gap - pw, y2 - ph),
            ):
                candidates.append((px + dx * (pw + gap), py))
        for dy in range(1, 8):  # further below
            candidates.append((x1, y2 + gap + dy * (ph // 2)))
        best, best_cost = None, None
        obstacles = [b for j, b in enumerate(boxes) if j != i] + [r for j, r in enumerate(labels) if j != i] + placed
        own = [boxes[i], labels[i]]
        for px, py in candidates:
            px, py = min(max(0, px), max(0, w - pw)), min(max(0, py), max(0, h - ph))
            rect = (px, py, px + pw, py + ph)
            cost = sum(_overlap(rect, o) for o in obstacles) * 10 + sum(_overlap(rect, o) for o in own)
            if best_cost is None or cost < best_cost:
                best, best_cost = rect, cost
            if cost == 0:
                break
        placed.append(best)
    return placed


def annotate(image: np.ndarray, faces, bars: bool = True, landmarks: bool = True) -> np.ndarray:
    """Return a copy of the RGB image with each FaceResult drawn; the input is not modified."""
    out = image.copy()
    unit = _unit(out.shape)
    thick = max(1, round(2 * unit))
    labels = label_rects(out.shape, faces)
    panels = panel_layout(out.shape, faces) if bars else []
    for i, face in enumerate(faces):
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        colour = COLOURS.get(face.label, (180, 180, 180))
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thick)
        if landmarks and face.landmarks is not None:
            for px, py in face.landmarks[:4]:
                cv2.circle(out, (int(px), int(py)), max(1, thick), (0, 255, 0), -1)
        (tw, th), _ = cv2.getTextSize(_label_text(face), FONT, 0.5 * unit, max(1, thick // 2) + 2)
        _text(out, _label_text(face), (labels[i][0], labels[i][1] + th), 0.5 * unit, colour, max(1, thick // 2))
    for face, rect in zip(faces, panels):
        _panel(out, face, rect, unit)
    return out


def _panel(img, face, rect, unit):
    left, top, right, bottom = rect
    n = len(face.probabilities)
    row = (bottom - top) // max(1, n)
    label_w = int(62 * unit)
    bar_w = right - left - label_w - 4
    overlay = img.copy()
    cv2.rectangle(overlay, (left, top), (right, bottom), (0, 0, 0), -1)
    cv2.addWeighted(overlay, 0.45, img, 0.55, 0, dst=img)
    for i, (name, p) in enumerate(face.probabilities.items()):
        y = top + i * row
        colour = COLOURS.get(name, (180, 180, 180))
        cv2.putText(img, name[:9], (left + 2, y + row - 2), FONT, 0.33 * unit, (255, 255, 255), 1, cv2.LINE_AA)
        cv2.rectangle(img, (left + label_w, y + 2), (left + label_w + int(bar_w * float(p)), y + row - 2), colour, -1)
