"""Face detection against ground truth: recall per face size, false boxes per scene, crowds and close-ups beside
group photos, and milliseconds per scene, for every detector; prints Markdown tables.

    python benchmarks/bench_detection.py [--detectors auto,blazeface,yunet,haar] [--scenes 2] [--json FILE]

Scenes (1600 x 1000 px, built by ``detection_scenes.py``: real faces pasted at known places and sizes over
synthesised face-free backgrounds):

- sizes: per face size (8 to 400 px, the face box's longer side), ``--scenes`` scenes of up to 12 faces of that
  size (fewer where they do not fit), from the sample photos, the group photo and CK+48 frames;
- crowd: ``--scenes`` x 3 scenes of 20 photo faces of 26-60 px;
- mixture: ``--scenes`` x 3 scenes of a close-up (a face of about 400-520 px) beside the group photo shrunk
  to 800 px wide (five faces of 60-90 px);
- empty: ``--scenes`` x 5 backgrounds alone.

Times are medians per scene: wall clock, and the CPU time of the process (closer to the cost on an idle core
when other processes share the machine). A detection finds a face when its centre is within half the face's side of
the face's centre and its side within
a factor 2 of the face's (one detection per face); every other detection is a false box.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import detection_scenes as scenes

SIZES = (8, 12, 16, 20, 25, 30, 35, 45, 60, 80, 120, 200, 400)


def build(data: Path, n: int) -> list:
    from ferkit.faces import load_image

    faces = scenes.load_faces(data)
    group = load_image(data / "samples" / "images" / "group.jpeg")
    truth = scenes.group_boxes(group)
    out = [scenes.size_scene(faces, s, k) for s in SIZES for k in range(n)]
    out += [scenes.crowd_scene(faces, k) for k in range(3 * n)]
    out += [scenes.mixture_scene(faces, group, truth, k) for k in range(3 * n)]
    out += [scenes.empty_scene(k) for k in range(5 * n)]
    return out


def measure(detector, built: list) -> dict:
    per_size: dict[float, list] = {s: [] for s in SIZES}
    crowd, close, group, false, seconds, cpu = [], [], [], {}, [], []
    for scene in built:
        t, c = time.perf_counter(), time.process_time()
        found = detector.detect(scene.image)
        seconds.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        hit, wrong = scenes.match(scene.boxes, found)
        false.setdefault(scene.kind, []).append(wrong)
        if scene.kind == "sizes":
            per_size[scene.size].extend(hit)
        elif scene.kind == "crowd":
            crowd.extend(hit)
        elif scene.kind == "mixture":
            close.append(bool(hit[0]))
            group.extend(hit[1:])

    def pct(xs):
        return 100.0 * float(np.mean(xs)) if len(xs) else float("nan")

    return {
        "recall_by_size": {str(s): pct(v) for s, v in per_size.items()},
        "faces_by_size": {str(s): len(v) for s, v in per_size.items()},
        "crowd_recall": pct(crowd),
        "closeup_found": pct(close),
        "group_kept": pct(group),
        "false_per_scene": {k: float(np.mean(v)) for k, v in false.items()},
        "false_per_scene_all": float(np.mean([x for v in false.values() for x in v])),
        "ms_per_scene": 1e3 * float(np.median(seconds)),
        "cpu_ms_per_scene": 1e3 * float(np.median(cpu)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--detectors", default="auto,blazeface,blazeface_short,yunet,haar")
    p.add_argument(
        "--scenes",
        type=int,
        default=2,
        help="scenes per face size (crowd and mixture: 3x, empty: 5x)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, metavar="FILE")
    args = p.parse_args()
    import cv2

    cv2.setNumThreads(args.threads)
    from ferkit.faces import create_detector

    data = Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    built = build(data, args.scenes)
    results = {}
    for name in args.detectors.split(","):
        detector = create_detector(name, **({} if name in ("haar", "none") else {"threads": args.threads}))
        results[name] = measure(detector, built)
        print(f"done {name}", file=sys.stderr)
    print("Recall (%) per face size (px, the face box's longer side):\n")
    print("| detector | " + " | ".join(str(s) for s in SIZES) + " |")
    print("|---|" + "---:|" * len(SIZES))
    for name, r in results.items():
        print(f"| {name} | " + " | ".join(f"{r['recall_by_size'][str(s)]:.0f}" for s in SIZES) + " |")
    print(
        "\n| detector | crowd recall (26-60 px) | close-up found beside a group | group faces kept "
        "| false boxes / scene (all) | false / empty scene | ms / scene | CPU ms / scene |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        print(
            f"| {name} | {r['crowd_recall']:.1f}% | {r['closeup_found']:.0f}% | {r['group_kept']:.0f}% "
            f"| {r['false_per_scene_all']:.2f} | {r['false_per_scene'].get('empty', 0):.2f} "
            f"| {r['ms_per_scene']:.0f} | {r['cpu_ms_per_scene']:.0f} |"
        )
    n_faces = sum(len(s.boxes) for s in built)
    print(f"\n{len(built)} scenes, {n_faces} faces; --scenes {args.scenes}, {args.threads} thread(s)")
    if args.json:
        from ferkit.io_utils import write_json

        write_json(args.json, {"scenes": len(built), "faces": n_faces, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
