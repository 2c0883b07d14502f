"""Numeric precision and memory layout of a training run: ``precision: auto | fp32 | bf16``.

``auto`` picks bf16 autocast where the hardware computes it natively (AMX / AVX512-BF16 CPUs, CUDA GPUs with
bf16 support) and fp32 elsewhere; emulated bf16 would be slower than fp32, so it is never chosen implicitly.
"""

from __future__ import annotations

import contextlib

import torch

from ferkit.errors import ConfigError

PRECISIONS = ("auto", "fp32", "bf16")


def cpu_supports_bf16() -> bool:
    """True when this CPU has native bf16 matrix maths (AMX tiles or AVX512-BF16)."""
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(torch.cpu, probe, None)  # private probes; absent on some torch builds -> fall through
        try:
            if fn is not None and fn():
                return True
        except Exception:  # a probe that cannot run on this platform says nothing
            continue
    return torch.backends.cpu.get_cpu_capability().upper().startswith("AMX")


def resolve_precision(name: str, device: torch.device) -> str:
    """'fp32' or 'bf16' for a configured precision on a device."""
    if name not in PRECISIONS:
        raise ConfigError(f"precision={name!r} is not valid; choose from {', '.join(PRECISIONS)}")
    if name != "auto":
        if name == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise ConfigError("precision=bf16: this GPU has no bf16 support; use precision=fp32")
        return name
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_supports_bf16() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    """The autocast context for a resolved precision (a no-op for fp32)."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
