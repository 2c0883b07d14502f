"""Scenes with known faces for ``bench_detection.py``: real faces pasted at known places and sizes over face-free
backgrounds.

Faces: the single-face sample photos (their boxes, brow to chin, checked by eye: ``SINGLE``, which the scale
sweep of ``tests/faces/test_scales.py`` reads too), the five faces of the sample group photo (boxes of the
``auto`` detector on the photo at full size, checked by eye) and CK+48 frames (the 48 px frame is the box). Each
face is cut with its surroundings (a square 1.6 times the box side; CK+48 frames have none), resized so that the
box's longer side is the wanted size, and pasted with a feathered elliptic edge, so no hard rectangle outlines the
face.

Backgrounds are synthesised, so they hold no face by construction: smooth multi-scale colour noise, blurred
rectangles, discs and lines of random colours (the edges and blobs that make detectors fire), a little grain,
and one JPEG round trip at quality 85. Everything is a pure function of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SINGLE = {
    "angry.jpg": (113, 545, 1085, 1518),
    "astronaut.png": (172, 69, 279, 176),
    "happy-baby.jpeg": (478, 189, 725, 437),
    "meds-aa-S001-01.jpg": (88, 228, 358, 498),
    "meds-aa-S029-01.jpg": (86, 141, 307, 362),
    "meds-af-S419-01.jpg": (80, 166, 411, 497),
    "neutral.jpeg": (255, 386, 742, 872),
    "sad-baby.jpeg": (371, 134, 1109, 873),
    "surprised.jpeg": (651, 311, 1007, 668),
}
CONTEXT = 1.6  # side of the cut-out square / face box side


@dataclass
class Face:
    patch: np.ndarray  # RGB uint8, square
    box: np.ndarray  # the face box inside the patch (x1, y1, x2, y2)
    name: str


@dataclass
class Scene:
    image: np.ndarray
    boxes: np.ndarray  # (N, 4) true face boxes
    kind: str  # "sizes", "crowd", "mixture", "empty"
    size: float = 0.0  # face size of a "sizes" scene
    group: np.ndarray | None = None  # mixture: which boxes belong to the group photo


def load_faces(data: Path, ck_count: int = 24) -> list[Face]:
    """The face gallery (photo faces first, then CK+48 frames of different subjects)."""
    from ferkit.faces import load_image

    faces = []
    images = data / "samples" / "images"
    for name, box in SINGLE.items():
        faces.append(_cut(load_image(images / name), np.array(box, np.float64), name))
    group = load_image(images / "group.jpeg")
    for i, box in enumerate(group_boxes(group)):
        faces.append(_cut(group, box, f"group.jpeg#{i}"))
    first: dict[str, Path] = {}
    for f in sorted((data / "ckplus" / "CK+48").glob("*/*.png")):
        first.setdefault(f.stem.split("_")[0], f)
    for f in sorted(first.values())[:ck_count]:
        frame = load_image(f)
        faces.append(Face(frame, np.array([0, 0, 48, 48], np.float64), f.stem))
    return faces


def group_boxes(group: np.ndarray) -> list[np.ndarray]:
    """The group photo's five faces: brow-to-chin boxes from full-range BlazeFace on the full-size photo."""
    from ferkit.faces import create_detector

    found = create_detector("blazeface", threads=1).detect(group)
    return [np.asarray(d.box, np.float64) for d in sorted(found, key=lambda d: d.box[0])[:5]]


def _cut(image: np.ndarray, box: np.ndarray, name: str) -> Face:
    side = max(box[2] - box[0], box[3] - box[1]) * CONTEXT
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    s = round(side)
    padded = cv2.copyMakeBorder(image, s, s, s, s, cv2.BORDER_REFLECT)
    patch = padded[y0 + s : y0 + 2 * s, x0 + s : x0 + 2 * s]
    return Face(np.ascontiguousarray(patch), box - [x0, y0, x0, y0], name)


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A face-free picture: colour noise at several scales, blurred shapes and lines, grain, JPEG."""
    image = np.zeros((height, width, 3), np.float32)
    for cells, weight in ((4, 0.5), (16, 0.3), (64, 0.2)):
        noise = rng.uniform(0, 255, (cells, max(2, cells * width // height), 3)).astype(np.float32)
        image += weight * cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
    canvas = np.clip(image, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(15, 40))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(10, max(11, min(height, width) // 3)))
        kind = rng.integers(0, 3)
        if kind == 0:
            cv2.rectangle(
                canvas,
                (x, y),
                (x + size, y + int(size * rng.uniform(0.3, 2))),
                colour,
                -1,
            )
        elif kind == 1:
            cv2.circle(canvas, (x, y), size // 2, colour, -1)
        else:
            cv2.line(
                canvas,
                (x, y),
                (int(rng.integers(0, width)), int(rng.integers(0, height))),
                colour,
                int(rng.integers(1, 8)),
            )
    canvas = cv2.GaussianBlur(canvas, (0, 0), float(rng.uniform(0.8, 2.5)))
    canvas = np.clip(canvas + rng.normal(0, 4, canvas.shape), 0, 255).astype(np.uint8)
    _, data = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def paste(canvas: np.ndarray, face: Face, size: float, x: float, y: float) -> np.ndarray:
    """Paste ``face`` so that its box side is ``size`` px with the box's top-left corner at (x, y); the box in
    canvas pixels."""
    f = size / max(face.box[2] - face.box[0], face.box[3] - face.box[1])
    side = max(2, round(face.patch.shape[0] * f))
    patch = cv2.resize(
        face.patch,
        (side, side),
        interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC,
    )
    box = face.box * (side / face.patch.shape[0])
    ox, oy = round(x - box[0]), round(y - box[1])
    mask = np.zeros((side, side), np.float32)
    if face.name.startswith("S"):  # CK+48 frame: no surroundings, feather the frame's own edge
        cv2.rectangle(
            mask,
            (side // 16, side // 16),
            (side - side // 16, side - side // 16),
            1.0,
            -1,
        )
    else:
        cv2.ellipse(
            mask,
            (side // 2, side // 2),
            (int(side * 0.45), int(side * 0.48)),
            0,
            0,
            360,
            1.0,
            -1,
        )
    mask = cv2.GaussianBlur(mask, (0, 0), max(0.5, side / 24))[..., None]
    h, w = canvas.shape[:2]
    x0, y0, x1, y1 = max(0, ox), max(0, oy), min(w, ox + side), min(h, oy + side)
    if x1 <= x0 or y1 <= y0:
        return box + [ox, oy, ox, oy]
    region = canvas[y0:y1, x0:x1].astype(np.float32)
    p, m = (
        patch[y0 - oy : y1 - oy, x0 - ox : x1 - ox].astype(np.float32),
        mask[y0 - oy : y1 - oy, x0 - ox : x1 - ox],
    )
    canvas[y0:y1, x0:x1] = np.clip(region * (1 - m) + p * m, 0, 255).astype(np.uint8)
    return box + [ox, oy, ox, oy]


def _place(rng, canvas, faces, sizes, pool) -> np.ndarray:
    """Paste faces of the given sizes at random places where their cut-outs do not overlap."""
    h, w = canvas.shape[:2]
    taken, boxes = [], []
    for size in sizes:
        reach = size * CONTEXT
        for _ in range(200):
            x, y = rng.uniform(0, max(1, w - size)), rng.uniform(0, max(1, h - size))
            cx, cy = x + size / 2, y + size / 2
            if all(abs(cx - a) > (reach + r) / 2 or abs(cy - b) > (reach + r) / 2 for a, b, r in taken):
                taken.append((cx, cy, reach))
                boxes.append(paste(canvas, faces[pool[len(boxes) % len(pool)]], size, x, y))
                break
    return np.array(boxes, np.float64).reshape(-1, 4)


def size_scene(
    faces: list[Face],
    size: float,
    seed: int,
    height: int = 1000,
    width: int = 1600,
    count: int = 12,
) -> Scene:
    rng = np.random.default_rng([seed, int(size)])
    canvas = background(rng, height, width)
    fits = max(1, int((width * height) / (size * CONTEXT * 1.6) ** 2))
    pool = rng.permutation(len(faces))
    boxes = _place(rng, canvas, faces, [size] * min(count, fits), pool)
    return Scene(canvas, boxes, "sizes", size)


def crowd_scene(faces: list[Face], seed: int, height: int = 1000, width: int = 1600, count: int = 20) -> Scene:
    """20 photo faces of 26-60 px (CK+ frames left out: a crowd is people in their surroundings)."""
    rng = np.random.default_rng([seed, 7])
    canvas = background(rng, height, width)
    photo = [i for i, f in enumerate(faces) if not f.name.startswith("S")]
    pool = rng.permutation(photo)
    boxes = _place(rng, canvas, faces, list(rng.uniform(26, 60, count)), pool)
    return Scene(canvas, boxes, "crowd")


def mixture_scene(
    faces: list[Face],
    group: np.ndarray,
    group_truth: list[np.ndarray],
    seed: int,
    height: int = 1000,
    width: int = 1600,
) -> Scene:
    """A close-up (a face of 500-700 px) beside the group photo shrunk to 800 px wide."""
    rng = np.random.default_rng([seed, 11])
    canvas = background(rng, height, width)
    f = 800 / group.shape[1]
    small = cv2.resize(group, (800, round(group.shape[0] * f)), interpolation=cv2.INTER_AREA)
    top = int(rng.integers(0, height - small.shape[0]))
    canvas[top : top + small.shape[0], width - 800 :] = small
    gboxes = [b * f + [width - 800, top, width - 800, top] for b in group_truth]
    single = [i for i, x in enumerate(faces) if x.name in SINGLE and x.name not in ("astronaut.png",)]
    face = faces[single[seed % len(single)]]
    size = float(rng.uniform(500, 700)) / CONTEXT * 1.2
    close = paste(
        canvas,
        face,
        size,
        rng.uniform(0, 40),
        (height - size) / 2 + rng.uniform(-30, 30),
    )
    boxes = np.array([close] + gboxes, np.float64)
    return Scene(canvas, boxes, "mixture", group=np.array([False] + [True] * len(gboxes)))


def empty_scene(seed: int, height: int = 1000, width: int = 1600) -> Scene:
    return Scene(
        background(np.random.default_rng([seed, 13]), height, width),
        np.zeros((0, 4)),
        "empty",
    )


def match(truth: np.ndarray, found: list) -> tuple[np.ndarray, int]:
    """(hit per true face, detections matching no true face). A detection finds a face when its centre is within
    half the face's side of the face's centre (both axes) and its side is within a factor 2 of the face's; one
    detection finds one face (highest score first)."""
    hit = np.zeros(len(truth), bool)
    false = 0
    for d in sorted(found, key=lambda d: -d.score):
        side = max(d.box[2] - d.box[0], d.box[3] - d.box[1])
        centre = (np.asarray(d.box[:2]) + d.box[2:]) / 2
        best = None
        for i, t in enumerate(truth):
            if hit[i]:
                continue
            tside = max(t[2] - t[0], t[3] - t[1])
            near = (np.abs(centre - (t[:2] + t[2:]) / 2) <= 0.5 * tside).all()
            if near and 0.5 <= side / tside <= 2.0:
                best = i
                break
        if best is None:
            false += 1
        else:
            hit[best] = True
    return hit, false
