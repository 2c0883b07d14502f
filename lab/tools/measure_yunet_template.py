"""How YuNet's keypoints sit against BlazeFace's on the same faces, and a YuNet alignment template fitted three
ways (``--method``):

- ``fer`` (the one shipped in ``ferkit.faces.templates``): the procedure of tools/estimate_face_template.py on
  YuNet's points: their median in FER2013 crop units (the framing the FER models were trained on), made
  left-right symmetric; fitted on a FER2013 set;
- ``median``: the symmetric median of YuNet's points in the BlazeFace-aligned crop (BlazeFace's 4 keypoints onto
  its template), so YuNet's crop lands where BlazeFace's does;
- ``crops``: the symmetric template whose YuNet crops are nearest BlazeFace's in least squares over the crop's
  pixels (Nelder-Mead from ``median``). Not unique: templates that differ by a change of shape which leaves the
  least-squares similarity as it is give the same crops on noise-free points, so on real points this picks the
  shape that best damps the per-face disagreement, not the detectors' systematic difference.

Faces: those both detectors find (the largest face of each image, boxes overlapping by IoU >= 0.5; every face of
the sample photos). Checks, on every set: how far the YuNet-aligned and the BlazeFace-aligned 48 px crop of a face
land apart (RMS over the crop's pixels) and their mean absolute grey difference; on FER2013 sets also each
crop's distance from the FER2013 crop itself.

Sets: the first ``--n`` FER2013 PublicTest faces (padded and upscaled as tools/estimate_face_template.py does;
``fer2013-48``: the same at 48 x 48 as they are), the rest of PublicTest (``-check``: never fitted on), the CK+48
frames as the pipeline gets them (48 x 48) and the sample photos. BlazeFace is ``auto``'s stream design
(full-range, then its fallback passes), YuNet ``auto``'s photo passes. ``--cache`` keeps the detections for refits.

    FERKIT_DATA=/path/to/data python lab/tools/measure_yunet_template.py --fit fer2013 --method fer --n 2000 \
        [--json FILE] [--cache FILE]
"""

from __future__ import annotations

import argparse
import pickle
import re
import sys
from pathlib import Path

import cv2
import numpy as np

PAD, UP = 24, 4  # as tools/estimate_face_template.py
SIZE = 48  # the crop side the errors are measured at
MIN_IOU = 0.5
# mirror a keypoint set: right and left eye swap, nose and mouth stay
MIRROR = [1, 0, 2, 3]


def fer_images(root: Path, start: int, stop: int | None, upscaled: bool = True) -> list[np.ndarray]:
    """FER2013 PublicTest faces [start, stop) as RGB: padded and upscaled (``upscaled``), or 48 x 48 as they are
    (the framing CK+48 frames reach the pipeline in)."""
    from ferkit.data import load_dataset

    images = np.asarray(load_dataset("fer2013", "PublicTest", data_root=root).images)[start:stop]
    out = []
    for img in images:
        if upscaled:
            padded = cv2.copyMakeBorder(img, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
            img = cv2.resize(padded, None, fx=UP, fy=UP, interpolation=cv2.INTER_CUBIC)
        out.append(np.repeat(img[:, :, None], 3, axis=2))
    return out


def ck_images(root: Path) -> list[np.ndarray]:
    from ferkit.faces import load_image

    return [load_image(f) for f in sorted((root / "ckplus" / "CK+48").glob("*/*.png"))]


def sample_images(root: Path) -> list[np.ndarray]:
    from ferkit.faces import load_image

    files = sorted(f for f in (root / "samples" / "images").glob("*") if re.search(r"\.(jpe?g|png)$", f.name, re.I))
    return [load_image(f) for f in files]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(inter / max(area - inter, 1e-9))


def pairs(images: list[np.ndarray], auto, every_face: bool = False) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(image index, BlazeFace's 4 keypoints, YuNet's 4 keypoints) per face both find: the largest face of each
    image, or every face (``every_face``, for group photos), matched by box IoU."""
    from tqdm import tqdm

    out = []
    for index, img in enumerate(tqdm(images, desc="detect", unit="img", file=sys.stderr, mininterval=5)):
        blaze = [d for d in auto.detect_with_candidates(img, auto.min_score) if d.score >= auto.min_score]
        yunet = auto.photo.detect(img)
        if not blaze or not yunet:
            continue
        if not every_face:
            blaze = [max(blaze, key=lambda d: d.width * d.height)]
        for b in blaze:
            best = max(yunet, key=lambda y: iou(b.box, y.box))
            if iou(b.box, best.box) >= MIN_IOU and b.landmarks is not None:
                out.append((index, np.asarray(b.landmarks[:4], np.float64), np.asarray(best.landmarks[:4], np.float64)))
    return out


def in_blaze_crop(found) -> np.ndarray:
    """(N, 4, 2): YuNet's keypoints in BlazeFace-aligned crop units (0..1 of the crop side)."""
    from ferkit.faces.alignment import similarity_matrices, transform_points
    from ferkit.faces.templates import template_for

    m = similarity_matrices(np.stack([b for _, b, _ in found]), template_for("blazeface"))
    return np.stack([transform_points(mi, y) for mi, (_, _, y) in zip(m, found)])


def symmetric_median(points: np.ndarray) -> np.ndarray:
    """The median keypoint positions (N, 4, 2) -> (4, 2), averaged with its mirror image (x -> 1 - x, eyes
    swapped), so the template is left-right symmetric about the crop's centre line."""
    med = np.median(points, 0)
    mirrored = med[MIRROR] * [-1, 1] + [1, 0]
    return (med + mirrored) / 2


def fit_crops(found, start: np.ndarray) -> np.ndarray:
    """The symmetric template (eye half-distance, eye height, nose height, mouth height; x centred) that minimises
    the mean squared distance between where each crop pixel of the YuNet-aligned crop and of the BlazeFace-aligned
    crop come from (the ``pixels apart`` of :func:`crop_errors`, squared), starting from ``start``."""
    from scipy.optimize import minimize

    from ferkit.faces.alignment import similarity_matrices
    from ferkit.faces.templates import template_for

    blaze = np.stack([b for _, b, _ in found])
    yun = np.stack([y for _, _, y in found])
    mb = similarity_matrices(blaze, template_for("blazeface"))
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 9), np.linspace(0, 1, 9)), -1).reshape(-1, 2)
    # crop point -> original image under the BlazeFace alignment (fixed)
    inv = np.linalg.inv(mb[:, :, :2])
    orig = np.einsum("nij,ngj->ngi", inv, grid[None] - mb[:, :, 2][:, None, :])

    def unpack(v: np.ndarray) -> np.ndarray:
        return np.array([[0.5 - v[0], v[1]], [0.5 + v[0], v[1]], [0.5, v[2]], [0.5, v[3]]])

    def loss(v: np.ndarray) -> float:
        my = similarity_matrices(yun, unpack(v))
        there = np.einsum("nij,ngj->ngi", my[:, :, :2], orig) + my[:, None, :, 2]
        return float(((there - grid) ** 2).sum(-1).mean())

    v0 = np.array([0.5 - start[0, 0], start[0, 1], start[2, 1], start[3, 1]])
    best = minimize(loss, v0, method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 4000})
    return unpack(best.x)


def truth_matrix(set_name: str) -> np.ndarray:
    """Original pixels -> FER2013 crop pixels (the framing the models were trained on) for a FER2013 set."""
    if set_name in ("fer2013", "fer2013-check"):
        return np.array([[1 / UP, 0.0, -PAD], [0.0, 1 / UP, -PAD]])
    return np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def fer_median(found, set_name: str, which: int = 2) -> np.ndarray:
    """The symmetric median of one detector's keypoints (which: 1 BlazeFace, 2 YuNet) in FER2013 crop units:
    the procedure that made BlazeFace's template (tools/estimate_face_template.py)."""
    from ferkit.faces.alignment import transform_points

    t = truth_matrix(set_name)
    return symmetric_median(np.stack([transform_points(t, row[which]) / 48.0 for row in found]))


def truth_errors(found, set_name: str, which: int, template: np.ndarray) -> float:
    """Mean RMS distance (crop pixels, 48 px crop) between where the pixels of a detector's aligned crop (which: 1
    BlazeFace, 2 YuNet; onto ``template``) and of the FER2013 crop itself come from."""
    from ferkit.faces.alignment import similarity_matrices

    t = truth_matrix(set_name)
    m = similarity_matrices(np.stack([row[which] for row in found]), np.asarray(template) * SIZE)
    grid = np.stack(np.meshgrid(np.arange(SIZE) + 0.5, np.arange(SIZE) + 0.5), -1).reshape(-1, 2)
    # FER crop pixel -> original -> aligned crop pixel
    ti = np.linalg.inv(np.vstack([t, [0, 0, 1]]))[:2]
    orig = grid @ ti[:, :2].T + ti[:, 2]
    there = np.einsum("nij,gj->ngi", m[:, :, :2], orig) + m[:, None, :, 2]
    return float(np.sqrt(((there - grid) ** 2).sum(-1).mean(1)).mean())


def crop_errors(found, template: np.ndarray) -> dict[str, float]:
    """How far the YuNet-aligned crop (YuNet points onto ``template``) is from the BlazeFace-aligned one."""
    from ferkit.faces.alignment import invert_affine, similarity_matrices, warp
    from ferkit.faces.templates import template_for

    mb = similarity_matrices(np.stack([b for _, b, _ in found]), template_for("blazeface") * SIZE)
    my = similarity_matrices(np.stack([y for _, _, y in found]), np.asarray(template) * SIZE)
    grid = np.stack(np.meshgrid(np.arange(SIZE) + 0.5, np.arange(SIZE) + 0.5), -1).reshape(-1, 2)
    shift, grey = [], []
    for (img, _, _), b, y in zip(found, mb, my):
        # a crop pixel of the YuNet crop -> the original image -> the BlazeFace crop
        orig = grid @ invert_affine(y)[:, :2].T + invert_affine(y)[:, 2]
        there = orig @ b[:, :2].T + b[:, 2]
        shift.append(float(np.sqrt(((there - grid) ** 2).sum(1).mean())))
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        grey.append(float(np.abs(warp(g, y, SIZE).astype(np.float64) - warp(g, b, SIZE)).mean()))
    return {
        "faces": len(found),
        "shift_px_mean": float(np.mean(shift)),
        "shift_px_median": float(np.median(shift)),
        "grey_abs_mean": float(np.mean(grey)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--fit", default="fer2013", choices=["fer2013", "fer2013-48", "ck48"], help="the set the template is fitted on"
    )
    p.add_argument(
        "--method",
        default="median",
        choices=["median", "crops", "fer"],
        help="median: symmetric median of YuNet's points in BlazeFace's crop; crops: least-squares crop pixels; "
        "fer: symmetric median of YuNet's points in the FER2013 crop (fit on a FER2013 set)",
    )
    p.add_argument("--n", type=int, default=2000, help="FER2013 PublicTest faces to use")
    p.add_argument("--json", default=None)
    p.add_argument("--data-root", default=None, help="dataset root (default: $FERKIT_DATA)")
    p.add_argument("--cache", default=None, help="keep the detections in this pickle and reuse them (refits)")
    args = p.parse_args()

    from ferkit.errors import DatasetError
    from ferkit.faces.auto import AutoDetector
    from ferkit.faces.templates import template_for
    from ferkit.settings import data_root

    try:
        root = data_root(args.data_root)
    except DatasetError as e:
        print(f"measure_yunet_template: {e}", file=sys.stderr)
        return 2
    auto = AutoDetector(threads=1)
    if auto.photo is None:
        print("YuNet cannot run here (weights or onnxruntime missing)", file=sys.stderr)
        return 1
    # the fit sets: the first n PublicTest faces; the check sets: the rest of PublicTest, never fitted on
    images = {
        "fer2013": fer_images(root, 0, args.n),
        "fer2013-48": fer_images(root, 0, args.n, upscaled=False),
        "fer2013-check": fer_images(root, args.n, None),
        "fer2013-48-check": fer_images(root, args.n, None, upscaled=False),
        "ck48": ck_images(root),
        "samples": sample_images(root),
    }
    cache = Path(args.cache) if args.cache else None
    found = {}
    if cache is not None and cache.is_file():
        with open(cache, "rb") as f:
            found = pickle.load(f)
    missing = [name for name in images if name not in found]
    for name in missing:
        found[name] = pairs(images[name], auto, every_face=name == "samples")
    if cache is not None and missing:
        with open(cache, "wb") as f:
            pickle.dump(found, f)
    sets = {name: [(images[name][i], b, y) for i, b, y in rows] for name, rows in found.items()}
    units = {name: in_blaze_crop(found) for name, found in sets.items() if found}
    blaze_t = template_for("blazeface")
    fitted = symmetric_median(units[args.fit])
    if args.method == "crops":
        fitted = fit_crops(sets[args.fit], fitted)
    if args.method == "fer":
        if not args.fit.startswith("fer2013"):
            p.error("--method fer fits on a FER2013 set")
        fitted = fer_median(sets[args.fit], args.fit)
        print(f"BlazeFace's points the same way: {np.round(fer_median(sets[args.fit], args.fit, 1), 4).tolist()}")
    report = {"fit": args.fit, "method": args.method, "template": np.round(fitted, 4).tolist(), "sets": {}}
    names = ("right_eye", "left_eye", "nose", "mouth")
    print(f"YuNet template ({args.method}) fitted on {args.fit} ({len(units[args.fit])} faces):")
    print(f"  {np.round(fitted, 4).tolist()}")
    for name, pts in units.items():
        offset = np.median(pts, 0) - blaze_t
        spread = np.percentile(pts, 75, 0) - np.percentile(pts, 25, 0)
        print(f"\n{name}: {len(pts)} faces both find; YuNet point - BlazeFace template (median, crop units; IQR)")
        for k, n in enumerate(names):
            print(f"  {n:9s} dx {offset[k, 0]:+.4f} dy {offset[k, 1]:+.4f}   IQR {spread[k, 0]:.4f} {spread[k, 1]:.4f}")
        before, after = crop_errors(sets[name], blaze_t), crop_errors(sets[name], fitted)
        for label, e in (("BlazeFace template", before), ("YuNet template", after)):
            print(
                f"  crop vs BlazeFace crop, {label}: pixels apart {e['shift_px_mean']:.2f} mean "
                f"({e['shift_px_median']:.2f} median) of {SIZE}; grey |diff| {e['grey_abs_mean']:.2f}"
            )
        if name.startswith("fer2013"):
            truth = {
                "blazeface_on_blazeface_template": truth_errors(sets[name], name, 1, blaze_t),
                "yunet_on_blazeface_template": truth_errors(sets[name], name, 2, blaze_t),
                "yunet_on_yunet_template": truth_errors(sets[name], name, 2, fitted),
            }
            print(
                "  crop vs the FER2013 crop itself, pixels apart (mean): BlazeFace "
                "{blazeface_on_blazeface_template:.2f}, YuNet on BlazeFace's template {yunet_on_blazeface_template:.2f}"
                ", YuNet on its own {yunet_on_yunet_template:.2f}".format(**truth)
            )
        else:
            truth = None
        report["sets"][name] = {
            "vs_fer_crop": truth,
            "faces": len(pts),
            "offset": np.round(offset, 4).tolist(),
            "blazeface_template": before,
            "yunet_template": after,
            "fitted_here": np.round(symmetric_median(pts), 4).tolist(),
        }
    if args.json:
        from ferkit.io_utils import write_json

        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
