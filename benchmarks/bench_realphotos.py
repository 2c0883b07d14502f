"""End-to-end accuracy on every labelled real photo the project has; prints Markdown tables.

    python benchmarks/bench_realphotos.py [--models ferplus,fer2013] [--detectors blazeface,auto,none]
                                          [--tta flip,none] [--json FILE] [--predictions DIR] [--threads 1]

Photos: all CK+48 frames (``$FERKIT_DATA/ckplus/CK+48``, 981 tight 48x48 grey crops, fed to the pipeline as
they are: 48x48, the framing a user of that dataset has), and the sample photos whose file name starts with an
emotion word (``samples/images``: angry, neutral, surprised, happy-baby, sad-baby). Each photo goes through the
full pipeline (detect, align, classify); the largest face counts, a photo without a face counts as wrong.
``accuracy`` is over the photos whose label the model has (the 7-class fer2013 model cannot say contempt),
``on found`` over those where a face was found; ``macro recall`` averages the per-class recalls; ``said
neutral`` is the share of found faces the model calls neutral, beside ``labelled neutral``, the share of photos
labelled neutral (a model that collapses other expressions into neutral shows a much larger first number).
``--tta``: each face classified as it is (``none``) and as the mean with its mirror image (``flip``, the default
for still images); ``classify ms/face`` is the classifier's time per face with that setting.
``--models`` takes shipped names or model files (.pt), so a candidate is measured before it is shipped.
``--predictions DIR`` also writes each photo's prediction (one CSV per set, model and detector; CK+ frames grouped by
sequence), so ``ferkit compare`` can say whether two models differ by more than the noise of these few sequences.
Detection runs once per detector and the crops go to every model. Detectors not registered in the code under
test are skipped with a note, so the same script measures older versions (there ``auto`` was full-range
BlazeFace alone, named ``blazeface``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import numpy as np


def data_root() -> Path:
    return Path(os.environ.get("FERKIT_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def labelled_photos(root: Path) -> dict[str, list[tuple[Path, str]]]:
    """{set name: [(file, canonical label)]}: CK+48 by folder, sample photos by the first word of the name."""
    from ferkit.labels import canonical

    sets: dict[str, list[tuple[Path, str]]] = {}
    ck = root / "ckplus" / "CK+48"
    if ck.is_dir():
        sets["CK+48 (48x48 as is)"] = [(f, canonical(f.parent.name)) for f in sorted(ck.glob("*/*.png"))]
    samples = []
    for f in sorted((root / "samples" / "images").glob("*")):
        word = re.split(r"[-_.]", f.stem.lower())[0]
        try:
            samples.append((f, canonical(word)))
        except KeyError:
            continue  # not labelled (group photos, mugshots, ...)
    sets["sample photos"] = samples
    return sets


def largest(detections):
    return max(detections, key=lambda d: d.width * d.height) if detections else None


def detect_all(detector, files, min_face: int = 0) -> tuple[list, float]:
    """(RGB image, largest face or None) per photo, and the detector's seconds per photo."""
    from ferkit.faces import load_image

    out, seconds = [], 0.0
    for path in files:
        rgb = load_image(path)
        t = time.perf_counter()
        dets = detector.detect(rgb)
        seconds += time.perf_counter() - t
        dets = [d for d in dets if min(d.width, d.height) >= min_face]
        out.append((rgb, largest(dets)))
    return out, seconds / max(1, len(files))


def aligned_crops(recognizer, found) -> list:
    """The recogniser's aligned grey crop of each photo's face (None where no face was found)."""
    return [None if best is None else recognizer.align(rgb, [best])[0][0] for rgb, best in found]


def predict(recognizer, crops, tta: str = "none") -> tuple[list[str], list[float | None], float]:
    """The model's label (canonical name) and its probability for each photo ("" and None where no face was
    found), and the classifier's seconds per face."""
    from ferkit.labels import canonical

    model_labels = [canonical(x) for x in recognizer.labels]
    found = [i for i, c in enumerate(crops) if c is not None]
    predicted: list[str] = [""] * len(crops)
    confidence: list[float | None] = [None] * len(crops)
    seconds = 0.0
    if found:
        t = time.perf_counter()
        probs = recognizer.classify_probabilities(np.stack([crops[i] for i in found]), tta)
        seconds = (time.perf_counter() - t) / len(found)
        for i, row in zip(found, probs):
            predicted[i], confidence[i] = model_labels[int(row.argmax())], float(row.max())
    return predicted, confidence, seconds


def score(model_labels: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Faces found, accuracy over all / found photos, per-class recall (model labels matched by name)."""
    found = [i for i, p in enumerate(predicted) if p]
    scorable = [i for i, y in enumerate(labels) if y in model_labels]
    correct = [i for i in scorable if predicted[i] == labels[i]]
    classes = sorted({labels[i] for i in scorable})
    recall = {c: np.mean([predicted[i] == c for i in scorable if labels[i] == c]) for c in classes}
    found_scorable = [i for i in scorable if predicted[i]]
    said_neutral = sum(predicted[i] == "neutral" for i in found)
    return {
        "photos": len(labels),
        "found": len(found),
        "found_pct": 100.0 * len(found) / max(1, len(labels)),
        "scorable": len(scorable),
        "accuracy": 100.0 * len(correct) / max(1, len(scorable)),
        "accuracy_found": 100.0 * len(correct) / max(1, len(found_scorable)),
        "macro_recall": 100.0 * float(np.mean(list(recall.values()))) if recall else 0.0,
        "said_neutral_pct": 100.0 * said_neutral / max(1, len(found)),
        "labelled_neutral_pct": 100.0 * sum(y == "neutral" for y in labels) / max(1, len(labels)),
        "recall": {c: round(100.0 * float(r), 1) for c, r in recall.items()},
    }


def photo_keys(root: Path, files: list[Path]) -> tuple[list[str], list[str]]:
    """(id, group) per photo: the path under the data folder; CK+ frames grouped by sequence (S010_004), any other
    photo its own group."""
    from ferkit.data.ckplus import parse_name
    from ferkit.errors import DatasetError
    from ferkit.evaluation.predictions import sequence_group

    ids, groups = [], []
    for f in files:
        ids.append(f.relative_to(root).as_posix() if f.is_relative_to(root) else str(f))
        try:
            subject, sequence, _ = parse_name(f)
            groups.append(sequence_group(subject, sequence))
        except DatasetError:
            groups.append(ids[-1])
    return ids, groups


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default=None, help="comma-separated (default: every shipped model)")
    p.add_argument("--detectors", default="blazeface,auto,none", help="comma-separated detector names")
    p.add_argument(
        "--tta",
        default="none",
        help="comma-separated: none (the default, as earlier tables), flip (mean with the mirror image)",
    )
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, metavar="FILE", help="also write the numbers as JSON")
    p.add_argument(
        "--predictions",
        default=None,
        metavar="DIR",
        help="also write each photo's prediction, one CSV per set / model / detector, for `ferkit compare`",
    )
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from ferkit import EmotionRecognizer, pretrained
    from ferkit.evaluation.predictions import photo_set_file_name, write_predictions
    from ferkit.faces import create_detector, list_detectors
    from ferkit.labels import canonical

    models = args.models.split(",") if args.models else list(pretrained.available())
    known = set(list_detectors()) | {"auto"}
    detectors = [d for d in args.detectors.split(",") if d in known]
    for d in set(args.detectors.split(",")) - set(detectors):
        print(f"note: detector {d!r} is not in this version of ferkit; skipped", file=sys.stderr)
    root = data_root()
    sets = labelled_photos(root)
    recognizers = {m: EmotionRecognizer(model=m, detector="blazeface", threads=args.threads) for m in models}
    results = []
    for det_name in detectors:
        options = {"threads": args.threads} if det_name in ("auto", "blazeface", "blazeface_short") else {}
        detector = create_detector(det_name, **options)
        for set_name, items in sets.items():
            files, labels = [f for f, _ in items], [y for _, y in items]
            found, sec = detect_all(detector, files)
            for m, rec in recognizers.items():
                rec.detector = detector  # alignment reads the detector's crop_scale
                crops = aligned_crops(rec, found)
                for tta in args.tta.split(","):
                    predicted, confidence, per_face = predict(rec, crops, tta)
                    model_labels = [canonical(x) for x in rec.labels]
                    results.append(
                        {
                            "set": set_name,
                            "model": m,
                            "detector": det_name,
                            "tta": tta,
                            "detect_ms": 1e3 * sec,
                            "classify_ms_per_face": 1e3 * per_face,
                            **score(model_labels, predicted, labels),
                        }
                    )
                    if args.predictions:
                        keep = [i for i, y in enumerate(labels) if y in model_labels]
                        ids, groups = photo_keys(root, files)
                        name = photo_set_file_name(set_name, m, det_name)
                        name = name if tta == "none" else name.replace(".csv", f"_tta-{tta}.csv")
                        write_predictions(
                            Path(args.predictions) / name,
                            *([col[i] for i in keep] for col in (ids, groups, labels, predicted, confidence)),
                        )
                print(f"done {set_name} / {m} / {det_name}", file=sys.stderr)
    print(
        "| photos | model | detector | tta | n | faces found | accuracy | on found | macro recall | said neutral "
        "| labelled neutral | detect ms/photo | classify ms/face |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['set']} | {r['model']} | {r['detector']} | {r['tta']} | {r['photos']} "
            f"| {r['found']} ({r['found_pct']:.1f}%) "
            f"| {r['accuracy']:.1f}% | {r['accuracy_found']:.1f}% | {r['macro_recall']:.1f}% "
            f"| {r['said_neutral_pct']:.1f}% | {r['labelled_neutral_pct']:.1f}% | {r['detect_ms']:.1f} "
            f"| {r['classify_ms_per_face']:.2f} |"
        )
    classes = sorted({c for r in results for c in r["recall"]})
    print("\nPer-class recall (%):\n")
    print("| photos | model | detector | tta | " + " | ".join(classes) + " |")
    print("|---|---|---|---|" + "---:|" * len(classes))
    for r in results:
        print(
            f"| {r['set']} | {r['model']} | {r['detector']} | {r['tta']} | "
            + " | ".join(f"{r['recall'][c]:.1f}" if c in r["recall"] else "-" for c in classes)
            + " |"
        )
    if args.json:
        from ferkit.io_utils import write_json

        write_json(args.json, {"threads": args.threads, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
