"""Recall per face scale for each detector on the scale sweep of ``tests/faces/test_scales.py``; Markdown table.

    python benchmarks/bench_scales.py [--detectors blazeface,blazeface_short,auto]

The sweep (real faces from the sample photos and CK+48 frames, covering 5% to 100% of the frame side; its
protocol is in the test module's docstring) is built by the test module's own functions, so the table and the
CI test measure the same frames. Also counts frames with two boxes on the face, and detector ms per frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detectors", default="blazeface,blazeface_short,auto")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "faces"))
    import test_scales as sweep  # noqa: E402  (the test module is the single definition of the sweep)

    from ferkit.faces import create_detector, load_image

    data = Path(os.environ.get("FERKIT_DATA", ROOT.parent / "shared" / "data"))
    photos = {n: (load_image(data / "samples" / "images" / n), np.array(b, np.float64)) for n, b in sweep.BOXES.items()}
    first: dict[str, Path] = {}
    for f in sorted((data / "ckplus" / "CK+48").glob("*/*.png")):
        first.setdefault(f.stem.split("_")[0], f)
    ck = {f.stem: load_image(f) for f in sorted(first.values())[: sweep.CK_SUBJECTS]}
    frames = {s: list(sweep.sweep_frames(photos, ck, s, seed=k)) for k, s in enumerate(sweep.SCALES)}
    print(
        f"{sum(map(len, frames.values()))} frames; recall per face side / frame side "
        f"({len(photos)} photos x {sweep.VARIANTS}, + {len(ck)} CK+48 frames from {sweep.CK_MIN_SCALE:.0%})\n"
    )
    print("| detector | " + " | ".join(f"{s:.0%}" for s in sweep.SCALES) + " | two boxes on a face | ms/frame |")
    print("|---|" + "---:|" * (len(sweep.SCALES) + 2))
    for name in args.detectors.split(","):
        det = create_detector(name, **({"threads": args.threads} if name != "haar" else {}))
        cells, doubled, seconds, n = [], 0, 0.0, 0
        for s in sweep.SCALES:
            hits = []
            for _, frame, truth in frames[s]:
                t = time.perf_counter()
                found = det.detect(frame)
                seconds += time.perf_counter() - t
                n += 1
                k = sum(sweep.same_face(d.box, truth) for d in found)
                hits.append(k > 0)
                doubled += k > 1
            cells.append(f"{100 * np.mean(hits):.0f}%")
        print(f"| {name} | " + " | ".join(cells) + f" | {doubled} | {1e3 * seconds / n:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
