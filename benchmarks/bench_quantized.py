"""int8 against float ONNX classifiers: PublicTest accuracy and ms/face on one thread; prints a Markdown table.

    python benchmarks/bench_quantized.py [--models ferplus fer2013] [--calibration-images 512]

The int8 model is made exactly as `ferkit export --quantize int8` makes it (calibrated on FER2013 Training
crops). Accuracy: majority-vote FERPlus / FER2013 labels on PublicTest, no TTA. Speed: median over repeats of
classifying PublicTest crops in batches of 5 (the faces of a frame) and one at a time, one ONNX Runtime thread.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def ms_per_face(cls, crops: np.ndarray, batch: int, repeats: int = 5) -> float:
    parts = [crops[i : i + batch] for i in range(0, len(crops), batch)]
    cls.forward(parts[0])
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for p in parts:
            cls.forward(p)
        times.append(time.perf_counter() - t)
    return statistics.median(times) / len(crops) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["ferplus", "fer2013"])
    p.add_argument("--calibration-images", type=int, default=512)
    p.add_argument("--speed-faces", type=int, default=500)
    args = p.parse_args()

    import torch

    torch.set_num_threads(1)
    from ferkit import pretrained
    from ferkit.data.loaders_fer import load_fer2013, load_ferplus
    from ferkit.evaluation.evaluate import evaluate_scores
    from ferkit.export.onnx import onnx_bytes
    from ferkit.export.quantize import calibration_crops, quantize_int8
    from ferkit.inference.classifier import OnnxClassifier
    from ferkit.inference.probabilities import softmax

    calib = calibration_crops(n=args.calibration_images)
    print("| model | runtime | PublicTest accuracy | ms/face (batch 5) | ms/face (batch 1) |")
    print("|---|---|---|---|---|")
    for name in args.models:
        loaded = pretrained.load(name)
        loader = load_ferplus if "contempt" in loaded.labels else load_fer2013
        test = loader("PublicTest", progress=False)
        fp32 = onnx_bytes(loaded)
        int8 = quantize_int8(fp32, loaded.preprocess(calib).numpy())
        for runtime, model in (("onnx fp32", fp32), ("onnx int8", int8)):
            cls = OnnxClassifier(model, threads=1)
            crops = np.asarray(test.images)
            scores = np.concatenate([softmax(cls.forward(crops[i : i + 256])[0]) for i in range(0, len(crops), 256)])
            acc = evaluate_scores(scores, loaded.labels, test)["accuracy"]
            speed = crops[: args.speed_faces]
            print(
                f"| {name} | {runtime} | {acc:.2%} (n={len(crops)}) | {ms_per_face(cls, speed, 5):.3f} | "
                f"{ms_per_face(cls, speed[:200], 1):.3f} |"
            )


if __name__ == "__main__":
    main()
