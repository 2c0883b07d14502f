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
    max_jobs: video jobs queued or running at once before answering 503 (finished ones never count);
    max_jobs_per_client: of those, per client address (more: 429); max_results: finished jobs whose results
    are kept (the oldest are dropped first); job_ttl_s: how long a finished job's result is kept at most;
    max_live: concurrent live WebSocket sessions; max_live_per_client: of those, per client address;
    live_idle_s: a live session that sends no frame for this long is closed; header_timeout_s: a connection
    must deliver a request's headers within this time (slow or half-open clients are dropped);
    body_timeout_s: longest wait for the next piece of a request body, and the grace period before
    min_body_rate (bytes/s, averaged over the upload) applies."""

    max_image_bytes: int = 10 * MB
    max_video_bytes: int = 100 * MB
    max_pixels: int = 25_000_000
    max_frame_bytes: int = 2 * MB
    max_frame_pixels: int = 2_100_000
    max_video_frames: int = 1800
    max_pending: int = 128
    workers: int = 1
    max_jobs: int = 16
    max_jobs_per_client: int = 4
    max_results: int = 64
    job_ttl_s: float = 900.0
    max_live: int = 4
    max_live_per_client: int = 2
    live_idle_s: float = 60.0
    header_timeout_s: float = 10.0
    body_timeout_s: float = 20.0
    min_body_rate: int = 8 * 1024

    def __post_init__(self):
        for name, value in self.__dict__.items():
            if value <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {value}")
