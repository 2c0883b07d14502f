"""The batch benchmark's CPU meter: CPU seconds of this process count as the driver's, those of a process it
starts as a pool worker count as the workers'."""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_batch  # noqa: E402


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_meter_tells_the_driver_from_a_worker():
    meter = bench_batch.CpuMeter(interval=0.05)
    meter.start()
    _spin(0.3)
    worker = multiprocessing.get_context("spawn").Process(target=_spin, args=(0.6,))
    worker.start()
    time.sleep(0.3)  # the meter sees the worker while it runs
    worker.join()
    cpu = meter.stop()
    assert cpu["driver"] >= 0.25
    assert cpu["workers"] >= 0.3  # its last 0.05 s may fall after the last sample
    assert cpu["other"] < 0.2
