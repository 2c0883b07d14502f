"""Classifier cost per face with and without flip test-time augmentation, on the faces of a sample photo.

    python benchmarks/bench_tta_cost.py [--model ferplus] [--faces 1,8] [--repeats 200] [--threads 1]

The settings are timed interleaved (none, flip, none, flip, ...) so a busy machine slows both alike; the table
gives the median milliseconds per face of ``EmotionRecognizer.classify_probabilities`` (aligned crops in,
probabilities out) for batches of 1 and of 8 faces.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="ferplus")
    p.add_argument("--faces", default="1,8", help="comma-separated batch sizes (faces per photo)")
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    import os

    import torch

    torch.set_num_threads(args.threads)
    from ferkit import EmotionRecognizer
    from ferkit.faces import load_image

    root = Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    rec = EmotionRecognizer(model=args.model, threads=args.threads)
    rgb = load_image(root / "samples" / "images" / "group.jpeg")
    crops, _ = rec.align(rgb, rec.detect(rgb))
    print("| model | faces per batch | none ms/face | flip ms/face | ratio |\n|---|---:|---:|---:|---:|")
    for n in (int(x) for x in args.faces.split(",")):
        batch = np.resize(crops, (n,) + crops.shape[1:])
        times = {"none": [], "flip": []}
        for _ in range(args.repeats):
            for mode in ("none", "flip"):
                t = time.perf_counter()
                rec.classify_probabilities(batch, mode)
                times[mode].append((time.perf_counter() - t) * 1e3 / n)
        none, flip = statistics.median(times["none"]), statistics.median(times["flip"])
        print(f"| {args.model} | {n} | {none:.2f} | {flip:.2f} | {flip / none:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
