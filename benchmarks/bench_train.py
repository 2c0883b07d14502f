"""Throughput of the whole training loop: device feed, augmentation, forward/backward/step, EMA.

    python benchmarks/bench_train.py --device cpu --models ferresnet_m --precision fp32 bf16 --batch-size 64 \\
        --seconds 30 --json out.json
    PYTHONPATH=src python benchmarks/bench_train.py --device cuda --models ferresnet_m resnet18 --batch-size 256

Each (model, precision) row builds the real ``Trainer`` (the same code ``ferkit train`` runs) on synthetic
uint8 48-px faces (``--data fer2013`` reads the real training split from FERKIT_DATA instead; throughput does not
depend on pixel content), warms up, then runs ``train_one_epoch`` until ``--seconds`` have passed. Validation is
excluded. Prints a Markdown table; ``--json`` writes a list of rows with keys model, device, precision,
batch_size, img_per_s (plus threads, seconds, steps, device_name, torch). On a shared machine the numbers
include whatever else is running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

try:
    import ferkit  # noqa: F401
except ImportError:  # run from a checkout without installing: use its src/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np
import torch

from ferkit.data import ArrayDataset
from ferkit.labels import FER2013_LABELS
from ferkit.training.config import load_config
from ferkit.training.trainer import Trainer


def synthetic(n: int, size: int, in_chans: int, seed: int = 0) -> ArrayDataset:
    rng = np.random.default_rng(seed)
    shape = (n, size, size) + ((3,) if in_chans == 3 else ())
    return ArrayDataset(
        images=rng.integers(0, 256, shape, dtype=np.uint8),
        targets=rng.integers(0, len(FER2013_LABELS), n).astype(np.int64),
        labels=FER2013_LABELS,
        name="synthetic",
        split="train",
    )


def real(n: int, size: int, in_chans: int, seed: int = 0) -> ArrayDataset:
    from ferkit.data import load_dataset

    ds = load_dataset("fer2013", "Training", size=size, in_chans=in_chans, progress=False)
    return ds.subset(np.random.default_rng(seed).permutation(len(ds))[:n])


def measure(
    model: str, device: str, precision: str, batch_size: int, seconds: float, threads: int, train: ArrayDataset, args
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(
            None,
            [
                f"model.name={model}",
                f"device={device}",
                f"precision={precision}",
                f"optim.batch_size={batch_size}",
                f"threads={threads}",
                f"ema_decay={args.ema}",
                f"data.source_size={args.source_size}",
                f"data.input_size={args.input_size}",
                f"data.in_chans={args.in_chans}",
                f"compile={str(args.compile).lower()}",
                f"out_dir={tmp}",
                "epochs=1000",
            ],
        )
        trainer = Trainer(cfg, progress=False, datasets=(train, {"main": train.subset(np.arange(batch_size))}))
        steps_per_epoch = len(train) // batch_size
        trainer.train_one_epoch(0, max_steps=args.warmup)  # first steps: allocator, kernels, compile
        done, steps, epoch = 0.0, 0, 1
        start = time.perf_counter()
        while done < seconds:
            chunk = min(steps_per_epoch, max(1, args.chunk))
            trainer.train_one_epoch(epoch, max_steps=chunk)  # returns after reading the metrics: synchronised
            steps += chunk
            epoch += 1
            done = time.perf_counter() - start
        return {
            "model": model,
            "device": device,
            "precision": trainer.precision,
            "batch_size": batch_size,
            "img_per_s": round(steps * batch_size / done, 1),
            "threads": threads,
            "seconds": round(done, 1),
            "steps": steps,
            "device_name": device_name(device),
            "torch": torch.__version__,
        }


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return platform.processor() or platform.machine()


def table(rows: list[dict]) -> str:
    fp32 = {(r["model"], r["device"], r["batch_size"]): r["img_per_s"] for r in rows if r["precision"] == "fp32"}
    lines = ["| model | device | precision | batch | img/s | vs fp32 |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        base = fp32.get((r["model"], r["device"], r["batch_size"]))
        ratio = f"{r['img_per_s'] / base:.2f}x" if base else "-"
        lines.append(
            f"| {r['model']} | {r['device']} | {r['precision']} | {r['batch_size']} | {r['img_per_s']:,.0f} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--models", nargs="+", default=["ferresnet_m"])
    p.add_argument("--precision", nargs="+", choices=("fp32", "bf16", "auto"), default=["fp32", "bf16"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seconds", type=float, default=20.0, help="timed seconds per row (after warm-up)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--images", type=int, default=8192, help="training-set size held on the device")
    p.add_argument("--data", choices=("synthetic", "fer2013"), default="synthetic")
    p.add_argument("--source-size", type=int, default=48)
    p.add_argument("--input-size", type=int, default=40)
    p.add_argument("--in-chans", type=int, choices=(1, 3), default=1)
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay (0: no EMA)")
    p.add_argument("--compile", action="store_true", help="torch.compile the network")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--chunk", type=int, default=50, help="steps between clock reads")
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA GPU available")
    if args.images < args.batch_size:
        p.error("--images must be at least --batch-size")
    make = real if args.data == "fer2013" else synthetic
    train = make(args.images, args.source_size, args.in_chans)
    rows = []
    for model in args.models:
        for precision in args.precision:
            row = measure(model, args.device, precision, args.batch_size, args.seconds, args.threads, train, args)
            rows.append(row)
            print(f"{model} {row['precision']}: {row['img_per_s']:,.0f} img/s", file=sys.stderr, flush=True)
    print(table(rows))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{device_name(args.device)}, torch {torch.__version__}, {args.threads} threads, load average {load:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
