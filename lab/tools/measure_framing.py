"""How FER2013's framing varies around the aligner's: the similarity transform from each FER2013 face's
detected landmarks to the alignment template (ferkit.faces.alignment.FER_TEMPLATE).

The pipeline aligns every face of a photo onto the template, so its crops all have the template's framing (up
to landmark noise); FER2013 training crops are framed loosely around it. This prints percentiles of the scale,
rotation and shift that would map each FER2013 crop onto the template, which is the range the training-time
scale / rotate / translate augmentation has to cover (in AugmentConfig units: scale as a zoom factor, shift
as a fraction of the crop side).

    FERKIT_DATA=/path/to/data python lab/tools/measure_framing.py --n 1000
"""

from __future__ import annotations

import argparse
import math

import cv2
import numpy as np

from ferkit.data import load_dataset
from ferkit.faces import create_detector
from ferkit.faces.alignment import FER_TEMPLATE, umeyama_similarity

PAD, UP = 24, 4  # as tools/estimate_face_template.py: grey border, then upscale for BlazeFace


def framing(n: int) -> dict[str, np.ndarray]:
    images = np.asarray(load_dataset("fer2013", "PublicTest").images)[:n]
    detector = create_detector("blazeface")
    scale, angle, dx, dy = [], [], [], []
    for img in images:
        padded = cv2.copyMakeBorder(img, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
        big = cv2.resize(padded, None, fx=UP, fy=UP, interpolation=cv2.INTER_CUBIC)
        found = detector(np.repeat(big[:, :, None], 3, axis=2))
        if not found or found[0].landmarks is None:
            continue
        points = (found[0].landmarks[:4] / UP - PAD) / 48.0  # in units of the FER2013 crop side
        m = umeyama_similarity(points, FER_TEMPLATE)  # FER2013 crop -> template framing
        s = math.hypot(m[0, 0], m[1, 0])
        scale.append(s)
        angle.append(math.degrees(math.atan2(m[1, 0], m[0, 0])))
        centre = m[:, :2] @ np.array([0.5, 0.5]) + m[:, 2]  # where the crop centre lands
        dx.append(centre[0] - 0.5)
        dy.append(centre[1] - 0.5)
    return {
        "scale": np.array(scale),
        "rotation_deg": np.array(angle),
        "shift_x": np.array(dx),
        "shift_y": np.array(dy),
        "n": len(images),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000)
    args = p.parse_args()
    stats = framing(args.n)
    found = len(stats["scale"])
    print(f"FER2013 PublicTest: landmarks found on {found} of {stats['n']} faces\n")
    print("| quantity | p5 | p25 | median | p75 | p95 |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in ("scale", "rotation_deg", "shift_x", "shift_y"):
        q = np.percentile(stats[key], [5, 25, 50, 75, 95])
        print(f"| {key} | " + " | ".join(f"{v:+.3f}" if key != "scale" else f"{v:.3f}" for v in q) + " |")


if __name__ == "__main__":
    main()
