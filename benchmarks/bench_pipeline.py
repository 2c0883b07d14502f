"""Speed of the face pipeline on CPU; prints a Markdown table.

    python benchmarks/bench_pipeline.py --threads 2 [--model ferplus] [--video PATH]

Measures detection ms/frame for each detector on the frames of ``samples/video/video_01.mp4`` (640x480,
5 people) and ms/photo on the sample photos (their own sizes, up to 1920 px), classification ms/face with PyTorch and
ONNX Runtime (faces of a frame in one batch), and end-to-end
fps (decode, detect, align, classify, track, smooth) on that video and on a single-face clip synthesised from
a sample photo; then end-to-end with the detector on every K-th frame only (K = 1, 2, 3; tracks carry the faces
in between), with the float and the int8 ONNX classifier, and the number of tracks each finds. Timings are medians of
repeated runs; other processes on the machine slow them down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch


def data_root() -> Path:
    return Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def read_frames(path: Path) -> list[np.ndarray]:
    from ferkit.media.video import VideoSource

    return [rgb for _, _, rgb in VideoSource(path)]


def single_face_clip(photo: Path, path: Path, n: int = 90) -> Path:
    """A 640x480 clip of one face drifting slowly across the frame (a webcam-like single-face video)."""
    from ferkit.faces import load_image

    img = load_image(photo)
    scale = 560 / max(img.shape[:2])
    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 480))
    for i in range(n):
        canvas = np.full((480, 640, 3), 60, np.uint8)
        dx = int(20 * np.sin(i / 15))
        h, w = min(480, img.shape[0]), min(640, img.shape[1])
        x0, y0 = (640 - w) // 2 + dx, (480 - h) // 2
        canvas[y0 : y0 + h, max(0, x0) : x0 + w] = img[:h, max(0, -x0) : w][:, : min(w, 640 - max(0, x0))]
        writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def harder_photos(photos, root: Path, finder) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Close-ups: the face of each single-face sample photo (a square around full-range BlazeFace's box on the
    photo) resized to 350x350, like a portrait dataset or a selfie. Face-free: a 300x300 patch of studio
    background, a blank 640x480 frame and a 640x480 frame of noise (every detection pass runs on these)."""
    from ferkit.faces import load_image

    close_ups = []
    for img in photos:
        found = finder.detect(img)
        if len(found) != 1:
            continue
        x1, y1, x2, y2 = found[0].box
        half = max(x2 - x1, y2 - y1) / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        crop = img[max(0, int(cy - half)) : int(cy + half), max(0, int(cx - half)) : int(cx + half)]
        close_ups.append(cv2.resize(crop, (350, 350), interpolation=cv2.INTER_AREA))
    wall = load_image(root / "samples" / "images" / "surprised.jpeg")[:300, :300]
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    return close_ups, [wall, np.full((480, 640, 3), 127, np.uint8), noise]


def timed(fn, repeats: int) -> float:
    """Median seconds of fn() over repeats (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None, help="shipped model name or file (default: ferplus, else a smoke model)")
    p.add_argument("--video", default=None)
    p.add_argument("--photo", default=None, help="single-face photo for the synthetic clip")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--detectors",
        default="blazeface,auto,blazeface_short,haar",
        help="comma-separated detectors to time (auto = the default one)",
    )
    p.add_argument("--detection-only", action="store_true", help="time the detectors only")
    p.add_argument(
        "--detect-every-only",
        action="store_true",
        help="time only the end-to-end rows with --detect-every K = 1, 2, 3 (float and int8 classifier)",
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    from ferkit import EmotionRecognizer, pretrained
    from ferkit.faces import create_detector, list_detectors, load_image
    from ferkit.inference.classifier import load_classifier

    model = args.model
    if model is None:
        model = "ferplus" if "ferplus" in pretrained.available() else "runs/smoke/best.pt"
    root = data_root()
    video = Path(args.video or root / "samples" / "video" / "video_01.mp4")
    photo = Path(args.photo or root / "samples" / "images" / "meds-aa-S029-01.jpg")
    frames = read_frames(video)
    tmp = Path(tempfile.mkdtemp())
    clip = single_face_clip(photo, tmp / "single_face.mp4")
    known = set(list_detectors()) | {"auto"}
    detectors = [d for d in args.detectors.split(",") if d in known]
    photos = [load_image(f) for f in sorted((root / "samples" / "images").iterdir())]
    close_ups, no_face = harder_photos(photos, root, create_detector("blazeface", threads=args.threads))
    print(
        f"model {model}; {len(frames)} frames of {video.name} "
        f"({frames[0].shape[1]}x{frames[0].shape[0]}); threads {args.threads}\n"
    )
    print("| stage | setting | time | faces/frame |")
    print("|---|---|---|---|")
    if args.detect_every_only:
        detect_every_rows(model, video, frames, tmp, args)
        return
    for name in detectors:
        det = create_detector(name, **({"threads": args.threads} if name != "haar" else {}))
        counts = [len(det.detect(f)) for f in frames]
        sec = timed(lambda: [det.detect(f) for f in frames], args.repeats) / len(frames)
        print(f"| detection | {name} | {sec * 1e3:.2f} ms/frame | {np.mean(counts):.2f} |")
        counts = [len(det.detect(f)) for f in photos]
        sec = timed(lambda: [det.detect(f) for f in photos], args.repeats) / len(photos)
        print(
            f"| detection | {name}, the {len(photos)} sample photos | {sec * 1e3:.2f} ms/photo "
            f"| {np.mean(counts):.2f} |"
        )
        for what, images in (("350x350 close-ups", close_ups), ("face-free images", no_face)):
            counts = [len(det.detect(f)) for f in images]
            sec = timed(lambda: [det.detect(f) for f in images], args.repeats) / len(images)
            print(f"| detection | {name}, {len(images)} {what} | {sec * 1e3:.2f} ms/photo | {np.mean(counts):.2f} |")
    if args.detection_only:
        return

    rec = EmotionRecognizer(model=model, threads=args.threads)
    crops = []
    for f in frames[:30]:
        c, _ = rec.align(f, rec.detect(f))
        crops.append(c)
    per_frame = [c for c in crops if len(c)]
    n_faces = sum(len(c) for c in per_frame)
    for runtime in ("torch", "onnx"):
        cls = load_classifier(model, runtime=runtime, threads=args.threads)
        sec = timed(lambda: [cls.forward(c) for c in per_frame], args.repeats)
        print(
            f"| classification | {runtime}, faces of a frame in one batch | {sec / n_faces * 1e3:.2f} ms/face |"
            f" {n_faces / len(per_frame):.2f} |"
        )
        single = per_frame[0][:1]
        sec1 = timed(lambda: [cls.forward(single) for _ in range(50)], args.repeats) / 50
        print(f"| classification | {runtime}, batch of 1 | {sec1 * 1e3:.2f} ms/face | 1 |")

    for clip_name, path in ((video.name, video), ("single-face clip", clip)):
        for name in detectors:
            for runtime in ("onnx", "torch"):
                if runtime == "torch" and name != "auto":
                    continue
                r = EmotionRecognizer(model=model, detector=name, runtime=runtime, threads=args.threads)

                def run():
                    return sum(len(fr.faces) for fr in r.predict_video(path))

                faces = run()
                sec = timed(run, args.repeats)
                n = len(read_frames(path)) if clip_name != video.name else len(frames)
                print(f"| end-to-end | {clip_name}, {name} + {runtime} | {n / sec:.1f} fps | {faces / n:.2f} |")

    detect_every_rows(model, video, frames, tmp, args)


def detect_every_rows(model, video: Path, frames: list, tmp: Path, args) -> None:
    """--detect-every K: the detector on every K-th frame, tracks carried in between (classifier every frame)."""
    from ferkit import EmotionRecognizer
    from ferkit.inference.results import summarise_tracks

    classifiers = [("onnx", model)]
    int8 = _int8_model(model, tmp)
    if int8 is not None:
        classifiers.append(("onnx int8", int8))
    for label, m in classifiers:
        r = EmotionRecognizer(model=m, detector="blazeface", runtime="onnx", threads=args.threads)
        for k in (1, 2, 3):

            def run():
                return list(r.predict_video(video, detect_every=k))

            result = run()
            tracks = len(summarise_tracks(result))
            faces = sum(len(fr.faces) for fr in result)
            sec = timed(run, args.repeats)
            print(
                f"| end-to-end | {video.name}, blazeface + {label}, detect every {k} | {len(frames) / sec:.1f} fps | "
                f"{faces / len(frames):.2f} ({tracks} tracks) |"
            )


def _int8_model(model, tmp: Path):
    """The int8 ONNX export of ``model`` (as `ferkit export --quantize int8` makes it); None without the data."""
    from ferkit import pretrained
    from ferkit.errors import FerkitError
    from ferkit.export.onnx import onnx_bytes
    from ferkit.export.quantize import calibration_crops, quantize_int8

    try:
        loaded = pretrained.load(model)
        calib = calibration_crops(n=512)
    except FerkitError as e:
        print(f"(no int8 rows: {e})")
        return None
    path = tmp / "int8.onnx"
    path.write_bytes(quantize_int8(onnx_bytes(loaded), loaded.preprocess(calib).numpy()))
    return str(path)


if __name__ == "__main__":
    main()
