"""CPU cost of every registered model: parameters, MACs, training and inference throughput.

    python benchmarks/bench_models.py --steps 5 --threads 2 --size 40
    python benchmarks/bench_models.py --models "ferresnet_*,mini_xception"

Prints a Markdown table. MACs are counted with forward hooks on Conv2d and Linear layers (one
multiply-accumulate per weight use; batch norm, activations, pooling and additions are not counted).
Throughput is measured on random grey images: training is forward + backward + SGD step at the given
batch size, inference is a no-grad forward in eval mode. Numbers depend on machine load; the load average
is printed with the table.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import platform
import sys
import time

import torch
import torch.nn as nn

from ferkit.models import create_model, list_models


def count_macs(model: nn.Module, size: int, in_chans: int = 1) -> int:
    """Multiply-accumulates of one forward pass on a single ``size`` x ``size`` image."""
    total = 0

    def conv_hook(m: nn.Conv2d, inputs, out):
        nonlocal total
        kh, kw = m.kernel_size
        total += out.numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m: nn.Linear, inputs, out):
        nonlocal total
        total += out.numel() * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_chans, size, size))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


def train_throughput(model: nn.Module, batch: int, size: int, steps: int, warmup: int) -> float:
    """Images per second for forward + backward + SGD step."""
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 1, size, size)
    y = torch.randint(0, model.num_classes, (batch,))
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return batch * steps / (time.perf_counter() - start)


def infer_throughput(model: nn.Module, batch: int, size: int, steps: int, warmup: int) -> float:
    """Images per second for an eval-mode forward pass without autograd."""
    model.eval()
    x = torch.randn(batch, 1, size, size)
    start = 0.0
    with torch.inference_mode():
        for i in range(warmup + steps):
            if i == warmup:
                start = time.perf_counter()
            model(x)
    return batch * steps / (time.perf_counter() - start)


def select(patterns: str | None) -> list[str]:
    names = list_models()
    if not patterns:
        return names
    chosen = []
    for pattern in patterns.split(","):
        hits = [n for n in names if fnmatch.fnmatch(n, pattern.strip())]
        if not hits:
            raise SystemExit(f"no model matches {pattern!r}; choose from {', '.join(names)}")
        chosen += [n for n in hits if n not in chosen]
    return chosen


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", help="comma-separated names or glob patterns (default: all registered)")
    p.add_argument("--steps", type=int, default=10, help="timed steps per measurement")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps before timing")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--size", type=int, default=40, help="input side length (grey images)")
    p.add_argument("--batch", type=int, default=64)
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    names = select(args.models)
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, {args.threads} threads, "
        f"{os.cpu_count()} CPUs, load average {load}; {args.size}x{args.size}x1, batch {args.batch}, "
        f"{args.warmup} warm-up + {args.steps} timed steps\n"
    )
    print(f"| model | params (M) | MMACs @{args.size} | train img/s | infer img/s |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        print(f"benchmarking {name} ...", file=sys.stderr, flush=True)
        model = create_model(name, num_classes=7, in_chans=1)
        params = sum(p.numel() for p in model.parameters())
        macs = count_macs(model, args.size)
        train = train_throughput(model, args.batch, args.size, args.steps, args.warmup)
        infer = infer_throughput(model, args.batch, args.size, args.steps, args.warmup)
        print(f"| {name} | {params / 1e6:.2f} | {macs / 1e6:.1f} | {train:.0f} | {infer:.0f} |", flush=True)


if __name__ == "__main__":
    main()
