"""Response shapes of the API (they document the JSON in /docs; the keys are the contract)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorResponse(BaseModel):
    error: str = Field(description="stable machine-readable code, e.g. payload_too_large, invalid_image")
    detail: str = Field(description="what was wrong, for people")


class Face(BaseModel):
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels of the uploaded image")
    landmarks: list[list[float]] | None = None
    score: float = Field(description="face detection score")
    probabilities: dict[str, float] = Field(description="per emotion label, in the model's label order")
    label: str = Field(description="top label")
    probability: float = Field(description="probability of the top label")
    track_id: int | None = None
    raw_probabilities: dict[str, float] | None = None


class ImageInfo(BaseModel):
    width: int
    height: int
    format: str


class PredictResponse(BaseModel):
    model: str
    labels: list[str]
    image: ImageInfo
    faces: list[Face]
    hint: str | None = Field(
        None, description="why no face was found, where the image looks like a face crop (then try detector=none)"
    )
    elapsed_ms: float


class ModelInput(BaseModel):
    crop_size: int
    input_size: int
    channels: int


class LoadedModel(BaseModel):
    name: str
    arch: str | None
    runtime: str | None
    labels: list[str]
    temperature: float = 1.0  # calibration: probabilities = softmax(logits / temperature)
    input: ModelInput
    detector: str


class ShippedModel(BaseModel):
    name: str
    default: bool
    description: str = ""


class ModelsResponse(BaseModel):
    loaded: LoadedModel
    shipped: list[ShippedModel]


class Health(BaseModel):
    status: str
    model: str
    uptime_s: float
    pending: int
    served: int
    jobs: dict[str, int]
    live_sessions: int


class Progress(BaseModel):
    frames_done: int
    frames_total: int
    fraction: float


class FrameFaces(BaseModel):
    frame: int
    time: float
    faces: list[dict]


class TimelinePoint(BaseModel):
    frame: int
    time: float
    label: str
    probabilities: dict[str, float]


class Track(BaseModel):
    track_id: int
    frames: int
    first_frame: int
    last_frame: int
    first_time: float = 0.0
    last_time: float = 0.0
    label: str
    probabilities: dict[str, float]
    label_shares: dict[str, float] = Field(default_factory=dict, description="share of frames per shown label")
    timeline: list[TimelinePoint]


class VideoInfo(BaseModel):
    fps: float
    width: int
    height: int
    frame_count: int
    duration_s: float | None
    every_n_frames: int
    frames_analysed: int
    last_frame: int
    cut_at_limit: bool
    skipped_frames: int = Field(0, description="undecodable frames read past")
    truncated: bool = Field(False, description="decoding stopped before the frame count the file announces")


class VideoSummary(BaseModel):
    tracks: int
    face_frames: int
    label_counts: dict[str, int]
    dominant_label: str | None


class VideoResult(BaseModel):
    model: str
    labels: list[str]
    video: VideoInfo
    frames: list[FrameFaces]
    tracks: list[Track]
    summary: VideoSummary


class JobResponse(BaseModel):
    job_id: str
    status: str = Field(
        description="queued | running | done | failed | cancelled | interrupted (the server "
        "stopped before the job finished)"
    )
    status_url: str
    progress: Progress
    elapsed_s: float
    result: VideoResult | None = None
    error: ErrorResponse | None = None
