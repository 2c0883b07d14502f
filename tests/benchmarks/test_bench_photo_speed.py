"""The photo speed benchmark times each stage of the auto detector's photo passes on a picture of any size."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ferkit.faces import create_detector

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_photo_speed  # noqa: E402


@pytest.mark.parametrize("size", [(300, 400), (1400, 2600)])
def test_stage_times_are_cpu_ms_with_the_padded_first_pass(size):
    photo = create_detector("auto", threads=1).photo
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), np.uint8)
    stages, (pw, ph) = bench_photo_speed.stage_times(photo, image, repeats=1)
    assert len(stages) == 3 and all(t >= 0 for t in stages)
    assert pw % 32 == 0 and ph % 32 == 0
    # the first pass sees the picture enlarged to 1920 px (at most 2x), or at most max_pixels (before padding)
    assert (pw - 32) * (ph - 32) <= photo.max_pixels
    if max(size) * 2 <= 1920:
        assert max(pw, ph) == -(-2 * max(size) // 32) * 32
