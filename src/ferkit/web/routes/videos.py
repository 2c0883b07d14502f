"""Video jobs: POST /v1/predict/video starts one, GET /v1/jobs/{job_id} reports it, DELETE cancels it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ferkit.media.sniff import SNIFF_BYTES, VIDEO_CONTAINERS, sniff_video
from ferkit.web.deps import ClientDep, JobsDep, ServerDep
from ferkit.web.errors import ApiError, too_large
from ferkit.web.jobs import probe_video
from ferkit.web.routes.common import ERRORS
from ferkit.web.schemas import ErrorResponse, JobResponse

router = APIRouter()


@router.post(
    "/v1/predict/video",
    response_model=JobResponse,
    status_code=202,
    tags=["predict"],
    responses={200: {"model": JobResponse, "description": "finished job (with wait=true)"}, **ERRORS},
)
async def predict_video(
    request: Request,
    server: ServerDep,
    client: ClientDep,
    file: UploadFile = File(..., description="a video (MP4, MOV, WebM, MKV, AVI, MPEG)"),
    every_n_frames: int | None = Query(
        None, ge=1, le=1000, description=("analyse every n-th frame (default: about 10 frames per second of video)")
    ),
    wait: bool = Query(False, description="answer only when the job has finished"),
    detector: str | None = Query(
        None,
        description=(
            "face detector for this video: auto | blazeface | blazeface_short | haar | none "
            "(every frame is already a face crop); default: the server's"
        ),
    ),
):
    """Start a video job: 202 with a status URL (``GET /v1/jobs/{job_id}``) that reports progress and, when
    done, per-frame faces, a timeline and a summary per tracked face. ``wait=true`` answers when done."""
    limits = server.settings.limits
    chosen = server.service.detector(detector)  # an unknown name is a 422 before the upload is stored
    path = await asyncio.to_thread(store_upload, file.file, server.tmpdir, limits.max_video_bytes)
    try:
        probe = await asyncio.to_thread(probe_video, path)
        job = server.jobs.submit(path, probe, every_n_frames, client=client, detector=chosen, detector_name=detector)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if not wait:
        return JSONResponse(job.to_dict(), status_code=202, headers=headers)
    while job.status in ("queued", "running"):
        if await request.is_disconnected():
            server.jobs.cancel(job.id)
            break
        await asyncio.sleep(0.1)
    return JSONResponse(
        JobResponse.model_validate(job.to_dict()).model_dump(mode="json"), status_code=200, headers=headers
    )


def store_upload(src, folder: Path, limit: int) -> Path:
    """Copy the upload into the app's temporary folder under a random name, checking its type from its bytes."""
    src.seek(0)
    head = src.read(SNIFF_BYTES)
    if not head:
        raise ApiError(422, "empty_file", "the uploaded file is empty (0 bytes)")
    suffix = sniff_video(head)
    if suffix is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            "the uploaded file is not a video in a supported container "
            f"({VIDEO_CONTAINERS}); the type is read from the content, "
            "not the file name",
        )
    src.seek(0)
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="upload-", dir=folder)
    path = Path(name)
    with open(fd, "wb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
        size = out.tell()
    if size > limit:
        path.unlink(missing_ok=True)
        raise too_large("the video", limit)
    return path


@router.get(
    "/v1/jobs/{job_id}", response_model=JobResponse, responses={404: {"model": ErrorResponse}}, tags=["predict"]
)
async def job_status(job_id: str, jobs: JobsDep) -> dict:
    """Progress of a video job, and its result once ``status`` is ``done``."""
    return jobs.get(job_id).to_dict()


@router.delete(
    "/v1/jobs/{job_id}", response_model=JobResponse, responses={404: {"model": ErrorResponse}}, tags=["predict"]
)
async def cancel_job(job_id: str, jobs: JobsDep) -> dict:
    """Cancel a queued or running video job."""
    return jobs.cancel(job_id).to_dict()
