"""Resource limits of the service, in one typed record (the CLI and create_app take overrides)."""
from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """max_image_bytes: largest image upload (POST /v1/predict); max_video_bytes: largest video upload;
    max_pixels: largest decoded image (width x height) accepted anywhere; max_frame_bytes / max_frame_pixels:
    one live WebSocket frame; max_video_frames: frames analysed per video job (longer videos are cut there);
    max_pending: inference requests waiting at once before answering 503; workers: inference threads;
    max_jobs: video jobs kept (queued, running or finished) before answering 503; job_ttl_s: how long a
    finished job's result is kept; max_live: concurrent live WebSocket sessions."""

    max_image_bytes: int = 10 * MB
    max_video_bytes: int = 100 * MB
    max_pixels: int = 25_000_000
    max_frame_bytes: int = 2 * MB
    max_frame_pixels: int = 2_100_000
    max_video_frames: int = 1800
    max_pending: int = 128
    workers: int = 1
    max_jobs: int = 16
    job_ttl_s: float = 900.0
    max_live: int = 4

    def __post_init__(self):
        for name, value in self.__dict__.items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value}")
