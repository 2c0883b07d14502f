"""Estimate where FER2013 faces keep their eyes, nose and mouth (the alignment template), and how Haar and
BlazeFace boxes relate to the FER2013 crop (each detector's ``crop_scale``). Run once; paste the numbers into
``ferkit/faces/alignment.py`` / the detectors.

    FERKIT_DATA=/path/to/data python tools/estimate_face_template.py --n 2000
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from ferkit.data import load_dataset
from ferkit.faces import create_detector

PAD = 24  # grey border around each 48x48 face so detectors see some context
UP = 4  # upscaling factor: BlazeFace full-range sees a ~200 px face in a 384 px image


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    args = p.parse_args()
    ds = load_dataset("fer2013", "PublicTest")
    images = np.asarray(ds.images)[: args.n]
    blaze, haar = create_detector("blazeface"), create_detector("haar", min_size=40)
    kps, blaze_sides, haar_sides = [], [], []
    for img in images:
        padded = cv2.copyMakeBorder(img, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
        big = cv2.resize(padded, None, fx=UP, fy=UP, interpolation=cv2.INTER_CUBIC)
        rgb = np.repeat(big[:, :, None], 3, axis=2)
        for det, sides in ((blaze, blaze_sides), (haar, haar_sides)):
            found = det(rgb)
            if not found:
                continue
            d = found[0]
            sides.append(max(d.width, d.height) / UP / 48.0)
            if d.landmarks is not None:
                kps.append((d.landmarks[:4] / UP - PAD) / 48.0)
    kps = np.array(kps)
    print(f"BlazeFace found {len(kps)}/{len(images)}; Haar {len(haar_sides)}/{len(images)}")
    print("template (right eye, left eye, nose, mouth) in crop units:")
    print(np.round(np.median(kps, 0), 4).tolist())
    print("BlazeFace crop_scale (crop side / box side):", round(1 / float(np.median(blaze_sides)), 3))
    print("Haar crop_scale:", round(1 / float(np.median(haar_sides)), 3))


if __name__ == "__main__":
    main()
