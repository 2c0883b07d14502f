"""The JSON API (``/v1``), health check and live WebSocket. Handlers only parse, validate and format: the work
is the shared recogniser's, run off the event loop by InferenceService and JobManager (``app.state``)."""
from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

from fastapi import APIRouter, File, Query, Request, UploadFile, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from ferkit.errors import FerkitError
from ferkit.media.sniff import SNIFF_BYTES, VIDEO_CONTAINERS, sniff_video
from ferkit.web.errors import ApiError, too_large
from ferkit.web.jobs import probe_video
from ferkit.web.live import LiveSession
from ferkit.web.schemas import ErrorResponse, Health, JobResponse, ModelsResponse, PredictResponse
from ferkit.web.uploads import decode_upload

router = APIRouter()
ERRORS = {code: {"model": ErrorResponse} for code in (413, 415, 422, 503)}


def face_dict(face) -> dict:
    d = face.to_dict()
    d["probability"] = round(float(face.probability), 4)
    return d


@router.get("/healthz", response_model=Health, tags=["service"])
async def healthz(request: Request) -> dict:
    """Liveness: answers at once, also while inference is busy (it never runs on the event loop)."""
    state = request.app.state
    service = state.service
    return {"status": "ok", "model": service.model_name, "uptime_s": round(time.time() - service.started, 1),
            "pending": service.pending, "served": state.service.served, "jobs": state.jobs.counts(),
            "live_sessions": state.live_sessions}


@router.get("/v1/models", response_model=ModelsResponse, tags=["models"])
async def models(request: Request) -> dict:
    """The model this server runs (its labels, input and detector) and the models shipped with ferkit."""
    from ferkit import pretrained

    shipped = [{"name": name, "default": name == pretrained.DEFAULT_MODEL,
                "description": str(m.summary.get("description", ""))} for name, m in pretrained.available().items()]
    return {"loaded": request.app.state.service.model_info(), "shipped": shipped}


@router.post("/v1/predict", response_model=PredictResponse, responses=ERRORS, tags=["predict"])
async def predict(request: Request, file: UploadFile = File(..., description="an image (JPEG, PNG, WebP, BMP, "
                                                                             "GIF or TIFF)"),
                  detector: str | None = Query(None, description=(
                      "face detector for this image: auto | blazeface | blazeface_short | haar | none (the image "
                      "is already a face crop: classify it whole); default: the server's"))) -> dict:
    """One image -> every face found: box, per-emotion probabilities and the top label. When no face is found
    in an image that could itself be a face crop, ``hint`` says so."""
    service = request.app.state.service
    limits = service.limits
    chosen = service.detector(detector)
    data = await file.read()
    if len(data) > limits.max_image_bytes:
        raise too_large("the image", limits.max_image_bytes)

    def work():
        t0 = time.perf_counter()
        rgb, info = decode_upload(data, limits.max_pixels, what="the uploaded file")
        faces = service.recognizer.predict(rgb) if chosen is None else service.recognizer.predict(rgb, chosen)
        return info, faces, (time.perf_counter() - t0) * 1000.0

    info, faces, ms = await service.run(work)
    return {"model": service.model_name, "labels": list(service.labels), "image": info,
            "faces": [face_dict(f) for f in faces], "hint": getattr(faces, "hint", None), "elapsed_ms": round(ms, 1)}


@router.post("/v1/predict/video", response_model=JobResponse, status_code=202, tags=["predict"],
             responses={200: {"model": JobResponse, "description": "finished job (with wait=true)"}, **ERRORS})
async def predict_video(request: Request,
                        file: UploadFile = File(..., description="a video (MP4, MOV, WebM, MKV, AVI, MPEG)"),
                        every_n_frames: int | None = Query(None, ge=1, le=1000, description=(
                            "analyse every n-th frame (default: about 10 frames per second of video)")),
                        wait: bool = Query(False, description="answer only when the job has finished"),
                        detector: str | None = Query(None, description=(
                            "face detector for this video: auto | blazeface | blazeface_short | haar | none "
                            "(every frame is already a face crop); default: the server's"))):
    """Start a video job: 202 with a status URL (``GET /v1/jobs/{job_id}``) that reports progress and, when
    done, per-frame faces, a timeline and a summary per tracked face. ``wait=true`` answers when done."""
    state = request.app.state
    limits = state.service.limits
    chosen = state.service.detector(detector)   # an unknown name is a 422 before the upload is stored
    path = await asyncio.to_thread(_store_upload, file.file, Path(state.tmpdir), limits.max_video_bytes)
    try:
        probe = await asyncio.to_thread(probe_video, path)
        job = state.jobs.submit(path, probe, every_n_frames, client=_client(request), detector=chosen,
                                detector_name=detector)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if not wait:
        return JSONResponse(job.to_dict(), status_code=202, headers=headers)
    while job.status in ("queued", "running"):
        if await request.is_disconnected():
            state.jobs.cancel(job.id)
            break
        await asyncio.sleep(0.1)
    return JSONResponse(JobResponse.model_validate(job.to_dict()).model_dump(mode="json"), status_code=200,
                        headers=headers)


def _client(conn) -> str:
    """The client's address, the unit of the per-client limits."""
    return conn.client.host if conn.client else ""


def _store_upload(src, folder: Path, limit: int) -> Path:
    """Copy the upload into the app's temporary folder under a random name, checking its type from its bytes."""
    src.seek(0)
    head = src.read(SNIFF_BYTES)
    if not head:
        raise ApiError(422, "empty_file", "the uploaded file is empty (0 bytes)")
    suffix = sniff_video(head)
    if suffix is None:
        raise ApiError(415, "unsupported_media_type", "the uploaded file is not a video in a supported container "
                                                      f"({VIDEO_CONTAINERS}); the type is read from the content, "
                                                      "not the file name")
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


@router.get("/v1/jobs/{job_id}", response_model=JobResponse, responses={404: {"model": ErrorResponse}},
            tags=["predict"])
async def job_status(request: Request, job_id: str) -> dict:
    """Progress of a video job, and its result once ``status`` is ``done``."""
    return request.app.state.jobs.get(job_id).to_dict()


@router.delete("/v1/jobs/{job_id}", response_model=JobResponse, responses={404: {"model": ErrorResponse}},
               tags=["predict"])
async def cancel_job(request: Request, job_id: str) -> dict:
    """Cancel a queued or running video job."""
    return request.app.state.jobs.cancel(job_id).to_dict()


@router.websocket("/v1/live")
async def live(ws: WebSocket):
    """Live frames. Send each frame as a binary message (an encoded JPEG/PNG/WebP image); each is answered, in
    order, by ``{"type": "result", "frame", "width", "height", "faces", "elapsed_ms"}`` with faces tracked
    (``track_id``) and smoothed across frames. Text messages: ``{"type": "reset"}`` forgets the tracks.
    Problems with one frame are answered ``{"type": "error", "error", "detail"}`` and the stream goes on; a
    frame over the size limit is answered ``payload_too_large`` and the session closes (code 1009). A session
    without a frame for ``live_idle_s`` is answered ``idle_timeout`` and closed; pages from other origins
    are refused unless allowed (``--allow-origin``)."""
    state = ws.app.state
    service = state.service
    limits = service.limits
    client = _client(ws)
    await ws.accept()
    busy = None
    if state.live_sessions >= limits.max_live:
        busy = f"{limits.max_live} live sessions are open already; try again later"
    elif state.live_clients.get(client, 0) >= limits.max_live_per_client:
        busy = f"this client has {limits.max_live_per_client} live sessions open already (the limit per client)"
    if busy:
        await ws.send_json({"type": "error", "error": "busy", "detail": busy})
        await ws.close(code=1013)
        return
    try:   # ?detector=none for a feed of face crops; default the server's
        chosen = service.detector(ws.query_params.get("detector"))
    except ApiError as e:
        await ws.send_json({"type": "error", "error": e.code, "detail": e.detail})
        await ws.close(code=1008)
        return
    state.live_sessions += 1
    state.live_clients[client] = state.live_clients.get(client, 0) + 1
    session = LiveSession(service.recognizer, detector=chosen)

    def work(data: bytes):
        t0 = time.perf_counter()
        rgb, info = decode_upload(data, limits.max_frame_pixels, what="the frame")
        faces = session.step(rgb)
        return info, faces, (time.perf_counter() - t0) * 1000.0

    try:
        await ws.send_json({"type": "hello", "model": service.model_name, "labels": list(service.labels)})
        last_frame = time.monotonic()
        while True:
            try:   # a session that sends no frame frees its slot
                message = await asyncio.wait_for(ws.receive(), last_frame + limits.live_idle_s - time.monotonic())
            except asyncio.TimeoutError:
                await ws.send_json({"type": "error", "error": "idle_timeout",
                                    "detail": f"no frame for {limits.live_idle_s:g} s; the session is closed"})
                await ws.close(code=1000, reason="idle timeout")
                break
            if message["type"] == "websocket.disconnect":
                break
            data, text = message.get("bytes"), message.get("text")
            if text is not None:
                try:
                    kind = json.loads(text).get("type")
                except (ValueError, AttributeError):
                    kind = None
                if kind == "reset":
                    last_frame = time.monotonic()
                    session.reset()
                    await ws.send_json({"type": "reset"})
                elif kind == "ping":
                    await ws.send_json({"type": "pong"})
                else:
                    await ws.send_json({"type": "error", "error": "invalid_message",
                                        "detail": 'text messages are JSON {"type": "reset"} or {"type": "ping"}; '
                                                  "frames are binary messages"})
                continue
            if data is None:
                continue
            last_frame = time.monotonic()
            if len(data) > limits.max_frame_bytes:   # the JSON error, then a clean close that frees the slot
                err = too_large("the frame", limits.max_frame_bytes)
                await ws.send_json({"type": "error", "error": err.code, "detail": err.detail})
                await ws.close(code=1009, reason="frame too large")
                break
            try:
                info, faces, ms = await service.run(work, data)
            except ApiError as e:
                await ws.send_json({"type": "error", "error": e.code, "detail": e.detail})
                continue
            except FerkitError as e:
                await ws.send_json({"type": "error", "error": "invalid_frame", "detail": str(e)})
                continue
            await ws.send_json({"type": "result", "frame": session.frames, "width": info["width"],
                                "height": info["height"], "faces": [face_dict(f) for f in faces],
                                "elapsed_ms": round(ms, 1)})
    except WebSocketDisconnect:
        pass
    finally:
        state.live_sessions -= 1
        state.live_clients[client] -= 1
        if not state.live_clients[client]:
            del state.live_clients[client]
