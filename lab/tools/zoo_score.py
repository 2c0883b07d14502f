"""Score one finished zoo run folder: fp16 weights, PublicTest evaluations, ONNX ms/face, zoo_run.json.

    python lab/tools/zoo_score.py RUN_DIR --row ROW_NAME [--exit-code N --wall-seconds S --command "..."]
        [--hardware TEXT] [--device cuda] [--eval-subset N]
    python lab/tools/zoo_score.py RUN_DIR --row ROW_NAME --rescore     # evaluations only; the run's record is kept

lab/tools/zoo_run.py starts one of these per finished run, so scoring overlaps the runs still training. Writes
``best_fp16.pt`` (and ``best_<head>_fp16.pt`` per auxiliary head: weights only, the optimizer state stays in
last.pt for --resume), ``eval_<head>_{none,flip}.json``, ``scores_<head>_{none,flip}.npz`` (per-image probabilities)
and ``zoo_run.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "lab" / "configs" / "zoo" / "zoo.yaml"


def slim_fp16(src: Path, dst: Path) -> None:
    """Weights-only fp16 copy of a checkpoint."""
    import torch

    from ferkit.io_utils import atomic_write

    payload = torch.load(src, map_location="cpu", weights_only=True)
    keep = {
        k: payload[k]
        for k in ("format", "arch", "arch_kwargs", "labels", "preprocess", "model", "config", "epoch", "calibration")
        if k in payload
    }
    keep["model"] = {k: v.half() if v.is_floating_point() else v for k, v in keep["model"].items()}
    atomic_write(dst, lambda tmp: torch.save(keep, tmp))


def evaluate(model: Path, spec: dict, out: Path, tag: str, device: str, subset: int | None) -> None:
    """PublicTest, single view and flip TTA, with ferkit's evaluation (the numbers `ferkit evaluate` prints)."""
    from ferkit.data import load_dataset
    from ferkit.data.subsets import stratified_subset
    from ferkit.evaluation.evaluate import evaluate_model
    from ferkit.io_utils import write_json
    from ferkit.models.checkpoint import load_model

    options = {"mode": spec["mode"]} if spec.get("mode") else {}
    ds = load_dataset(spec["dataset"], "PublicTest", None, **options)
    index = stratified_subset(ds.hard_labels, subset, 0)
    if index is not None:
        ds = ds.subset(index)
    loaded = load_model(model)
    for tta in ("none", "flip"):
        result, scores = evaluate_model(loaded, ds, tta=tta, device=device, return_scores=True)
        result["model"] = str(model.name)
        write_json(out / f"eval_{tag}_{tta}.json", result)
        save_scores(out / f"scores_{tag}_{tta}.npz", scores, loaded.labels, ds)


def save_scores(path: Path, scores, model_labels, ds) -> None:
    """Per-image probabilities with their label names and the split's hard labels: what lab/tools/zoo_table.py
    averages into the manifest's ensembles without running the members again."""
    import numpy as np

    from ferkit.io_utils import atomic_write

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(
                f,
                scores=np.asarray(scores, np.float32),
                labels=np.array(list(model_labels)),
                dataset_labels=np.array(list(ds.labels)),
                hard=np.asarray(ds.hard_labels),
            )

    atomic_write(path, write)


def onnx_ms_per_face(model: Path, repeats: int = 200) -> float | None:
    """Median ms per face of the exported model, ONNX Runtime, one thread, batch 1 (None if export fails)."""
    try:
        import numpy as np

        from ferkit.export.onnx import onnx_bytes
        from ferkit.inference.classifier import OnnxClassifier
        from ferkit.models.checkpoint import load_model

        clf = OnnxClassifier(onnx_bytes(load_model(model)), threads=1)
        size = clf.preprocess.source_size
        crop = np.random.default_rng(0).integers(0, 255, (1, size, size), dtype=np.uint8)
        for _ in range(20):
            clf.forward(crop)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            clf.forward(crop)
            times.append(time.perf_counter() - t0)
        return float(np.median(times) * 1000)
    except Exception as e:  # a model that does not export still gets its other numbers
        print(f"zoo_score: ONNX timing of {model} failed: {e}", file=sys.stderr)
        return None


def add_onnx_timing(run: Path) -> None:
    """Measure ONNX ms/face into zoo_run.json; called once no training runs, so the timing is not contended."""
    import json

    from ferkit.io_utils import write_json

    path = run / "zoo_run.json"
    if path.is_file() and (run / "best_fp16.pt").is_file():
        record = json.loads(path.read_text())
        record["onnx_ms_per_face"] = onnx_ms_per_face(run / "best_fp16.pt")
        write_json(path, record)


def score(
    run: Path, row: dict, record: dict, device: str = "cpu", subset: int | None = None, onnx: bool = True
) -> dict:
    best = run / "best.pt"
    if record.get("exit_code") == 0 and best.is_file():
        slim_fp16(best, run / "best_fp16.pt")
        for head in row["eval"].get("aux") or {}:
            if (run / f"best_{head}.pt").is_file():
                slim_fp16(run / f"best_{head}.pt", run / f"best_{head}_fp16.pt")
        evaluate_heads(run, row, device, subset)
        if onnx:
            record["onnx_ms_per_face"] = onnx_ms_per_face(run / "best_fp16.pt")
    from ferkit.io_utils import write_json

    write_json(run / "zoo_run.json", record)
    return record


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("--row", required=True)
    ap.add_argument("--manifest", default=str(MANIFEST))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--exit-code", type=int, default=0)
    ap.add_argument("--wall-seconds", type=float, default=0.0)
    ap.add_argument("--command", default="")
    ap.add_argument("--hardware", default="", help="what it trained on (default: this machine, for --device)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--eval-subset", type=int)
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX timing (zoo_run times them afterwards)")
    ap.add_argument(
        "--rescore",
        action="store_true",
        help="re-run the evaluations of an already scored run from its best_fp16.pt (e.g. to add the "
        "per-image probabilities of an older run); zoo_run.json and the ONNX timing stay as they are",
    )
    args = ap.parse_args(argv)
    row = next(r for r in yaml.safe_load(Path(args.manifest).read_text())["rows"] if r["name"] == args.row)
    if args.rescore:
        rescore(Path(args.run_dir), row, args.device, args.eval_subset)
        return
    from ferkit.training.hardware import describe_hardware

    record = {
        "row": args.row,
        "seed": args.seed,
        "config": row["config"],
        "command": args.command,
        "exit_code": args.exit_code,
        "wall_seconds": round(args.wall_seconds, 1),
        "hardware": args.hardware or describe_hardware(args.device),
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    record = with_slices(Path(args.run_dir) / "zoo_run.json", record)
    score(Path(args.run_dir), row, record, args.device, args.eval_subset, onnx=not args.no_onnx)


def rescore(run: Path, row: dict, device: str = "cpu", subset: int | None = None) -> None:
    """Evaluate an already scored run again from its fp16 weights, leaving its record untouched."""
    if not (run / "zoo_run.json").is_file() or not (run / "best_fp16.pt").is_file():
        raise SystemExit(f"zoo_score: {run} has no scored run to rescore (needs zoo_run.json and best_fp16.pt)")
    evaluate_heads(run, row, device, subset)


def evaluate_heads(run: Path, row: dict, device: str, subset: int | None) -> None:
    """The evaluations of every head that has fp16 weights in the run folder."""
    evaluate(run / "best_fp16.pt", row["eval"], run, "main", device, subset)
    for head, spec in (row["eval"].get("aux") or {}).items():
        if (run / f"best_{head}_fp16.pt").is_file():
            evaluate(run / f"best_{head}_fp16.pt", spec, run, head, device, subset)


SLICE_KEYS = ("wall_seconds", "hardware", "finished", "command")


def with_slices(path: Path, record: dict) -> dict:
    """A resumed run's record keeps every earlier slice (``slices``: wall time, hardware, date, command of each
    ``zoo_run`` invocation) and reports their total as ``wall_seconds``; a fresh run starts a new list."""
    previous = json.loads(path.read_text()) if path.is_file() and "--resume" in record["command"] else None
    slices = (previous.get("slices") or [{k: previous.get(k) for k in SLICE_KEYS}]) if previous else []
    slices = slices + [{k: record[k] for k in SLICE_KEYS}]
    return {**record, "slices": slices, "wall_seconds": round(sum(x.get("wall_seconds") or 0 for x in slices), 1)}


if __name__ == "__main__":
    main()
