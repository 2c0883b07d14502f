"""CPU milliseconds per frame of the video path: ``predict_video`` on samples/video/video_01.mp4 with the ``auto``
detector and the ONNX classifier, one thread; the best of three runs. CPU time (not wall time) so that two
versions of the code can be compared on a machine other processes share: run it once per version, alternating.

    python benchmarks/bench_video_cpu.py [--label NAME] [--detector auto] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--label", default="this checkout")
    p.add_argument("--detector", default="auto")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    from ferkit import EmotionRecognizer

    root = Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    video = root / "samples" / "video" / "video_01.mp4"
    rec = EmotionRecognizer(detector=args.detector, runtime="onnx", threads=1)
    frames = sum(1 for _ in rec.predict_video(video))
    cpu, wall, faces = [], [], 0
    for _ in range(args.repeats):
        c, t = time.process_time(), time.perf_counter()
        faces = sum(len(fr.faces) for fr in rec.predict_video(video))
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    print(
        f"{args.label}: CPU {1e3 * min(cpu) / frames:.2f} ms/frame, wall {1e3 * min(wall) / frames:.2f} ms/frame, "
        f"faces/frame {faces / frames:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
