"""CPU time of the ``auto`` detector on photos of 1.6 to 6 megapixels, and where it goes; prints a Markdown table.

    python benchmarks/bench_photo_speed.py [--image examples/group.jpeg] [--repeats 7] [--threads 1]

The photo (default: the sample group photo, 1280 x 853) is resized to each size (bicubic) and detected
``--repeats`` times after one warm-up call; each column is the median of ``time.process_time`` (CPU time of the
process, which counts every thread: with ``--threads 1`` that is the cost on one core, and it moves less than
wall time when other processes share the machine). Stages, each timed on its own:

- first pass in: resizing the photo for the first YuNet pass and writing the network's input;
- first pass network: ONNX Runtime on that input (the pass's pixels, padded to a multiple of 32, in brackets);
- close-up pass: shrinking to 320 px and that pass entire;
- total: ``detector.detect`` (both passes, decoding, merging, dropping inner boxes), and the least of its calls
  (the nearest to the cost on an idle core where other processes slow some calls down).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

SIZES = ((1600, 1000), (1920, 1080), (2048, 1536), (2560, 1600), (3000, 2000))


def cpu_ms(call, repeats: int) -> float:
    """Median CPU milliseconds of ``repeats`` calls after a warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return 1e3 * float(np.median(times))


def stage_times(photo, image: np.ndarray, repeats: int) -> tuple[list[float], tuple[int, int]]:
    """CPU ms of the first pass's input, its network run and the close-up pass; the first pass's padded size."""
    from ferkit.faces.yunet import network_input, resized

    h, w = image.shape[:2]
    scale = photo.first_scale(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    first = resized(image, size)
    pw, ph = -(-size[0] // 32) * 32, -(-size[1] // 32) * 32
    buffer = np.zeros((1, 3, ph, pw), np.float32)
    feed = {"input": network_input(first, buffer)}
    coarse = min(1.0, photo.close_side / max(h, w))
    close_size = (max(1, round(w * coarse)), max(1, round(h * coarse)))
    close_source = first if scale < 1 else image
    stages = [
        cpu_ms(lambda: network_input(resized(image, size), buffer), repeats),
        cpu_ms(lambda: photo.session.run(None, feed), repeats),
        cpu_ms(lambda: photo.candidates(resized(close_source, close_size), scale=1.0), repeats),
    ]
    return stages, (pw, ph)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(__file__).resolve().parents[1]
    p.add_argument("--image", default=str(root / "examples" / "group.jpeg"))
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if args.repeats < 1 or args.threads < 1:
        p.error("--repeats and --threads must be at least 1")
    import cv2

    cv2.setNumThreads(args.threads)
    from ferkit.faces import create_detector, load_image

    detector = create_detector("auto", threads=args.threads)
    photo = detector.photo
    if photo is None:
        sys.exit("the auto detector cannot run YuNet here (onnxruntime or its weights missing)")
    source = load_image(args.image)
    print(
        "| photo | MP | first pass in | first pass network (pixels) | close-up pass | total CPU ms | least | faces |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for w, h in SIZES:
        image = cv2.resize(source, (w, h), interpolation=cv2.INTER_CUBIC)
        stages, (pw, ph) = stage_times(photo, image, args.repeats)
        faces = detector.detect(image)
        times = []
        for _ in range(args.repeats):
            start = time.process_time()
            detector.detect(image)
            times.append(1e3 * (time.process_time() - start))
        print(
            f"| {w} x {h} | {w * h / 1e6:.1f} | {stages[0]:.0f} | {stages[1]:.0f} ({pw} x {ph}) | {stages[2]:.0f} "
            f"| {np.median(times):.0f} | {np.min(times):.0f} | {len(faces)} |"
        )
    print(f"\n{Path(args.image).name}, median of {args.repeats} calls, {args.threads} thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
