"""A one-line description of the machine a run trained on, for run records (e.g. the zoo's hardware column)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_name() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else the platform's processor or machine string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_hardware(device: str = "cpu", shared: bool = False) -> str:
    """ "<GPU name>" for a CUDA device that is present, else "CPU <model> x<cores>"; ``shared`` notes that
    parallel runs shared the GPU."""
    import torch

    if device != "cpu" and torch.cuda.is_available():
        return torch.cuda.get_device_name(0) + (" (shared by the parallel runs)" if shared else "")
    return f"CPU {cpu_name()} x{os.cpu_count()}"
