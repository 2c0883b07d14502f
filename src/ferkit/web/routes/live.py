"""The /v1/live WebSocket: live frames in, tracked and smoothed faces out, one session per connection."""

from __future__ import annotations

import asyncio
import json
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ferkit.errors import FerkitError
from ferkit.web.deps import ClientDep, LiveSlotsDep, ServiceDep
from ferkit.web.errors import ApiError, too_large
from ferkit.web.live import LiveSession
from ferkit.web.routes.common import face_dict
from ferkit.web.service import InferenceService
from ferkit.web.uploads import decode_upload

router = APIRouter()
TEXT_HELP = 'text messages are JSON {"type": "reset"} or {"type": "ping"}; frames are binary messages'


@router.websocket("/v1/live")
async def live(ws: WebSocket, service: ServiceDep, slots: LiveSlotsDep, client: ClientDep):
    """Live frames. Send each frame as a binary message (an encoded JPEG/PNG/WebP image); each is answered, in
    order, by ``{"type": "result", "frame", "width", "height", "faces", "elapsed_ms"}`` with faces tracked
    (``track_id``) and smoothed across frames. Text messages: ``{"type": "reset"}`` forgets the tracks.
    Problems with one frame are answered ``{"type": "error", "error", "detail"}`` and the stream goes on; a
    frame over the size limit is answered ``payload_too_large`` and the session closes (code 1009). A session
    without a frame for ``live_idle_s`` is answered ``idle_timeout`` and closed; pages from other origins
    are refused unless allowed (``--allow-origin``)."""
    await ws.accept()
    busy = slots.busy(client)
    if busy:
        await _refuse(ws, "busy", busy, code=1013)
        return
    try:  # ?detector=none for a feed of face crops; default the server's
        chosen = service.detector(ws.query_params.get("detector"))
    except ApiError as e:
        await _refuse(ws, e.code, e.detail, code=1008)
        return
    with slots.held(client):
        session = LiveSession(service.recognizer, detector=chosen)
        try:
            await ws.send_json({"type": "hello", "model": service.model_name, "labels": list(service.labels)})
            await _serve(ws, service, session)
        except WebSocketDisconnect:
            pass


async def _refuse(ws: WebSocket, error: str, detail: str, code: int) -> None:
    await ws.send_json({"type": "error", "error": error, "detail": detail})
    await ws.close(code=code)


async def _serve(ws: WebSocket, service: InferenceService, session: LiveSession) -> None:
    """Answer messages until the client leaves, stays idle for ``live_idle_s`` or sends a frame over the limit."""
    limits = service.limits
    last_frame = time.monotonic()
    while True:
        try:  # a session that sends no frame frees its slot
            message = await asyncio.wait_for(ws.receive(), last_frame + limits.live_idle_s - time.monotonic())
        except asyncio.TimeoutError:
            await ws.send_json(
                {
                    "type": "error",
                    "error": "idle_timeout",
                    "detail": f"no frame for {limits.live_idle_s:g} s; the session is closed",
                }
            )
            await ws.close(code=1000, reason="idle timeout")
            return
        if message["type"] == "websocket.disconnect":
            return
        data, text = message.get("bytes"), message.get("text")
        if text is not None:
            if await _answer_text(ws, text, session):
                last_frame = time.monotonic()
            continue
        if data is None:
            continue
        last_frame = time.monotonic()
        if len(data) > limits.max_frame_bytes:  # the JSON error, then a clean close that frees the slot
            err = too_large("the frame", limits.max_frame_bytes)
            await ws.send_json({"type": "error", "error": err.code, "detail": err.detail})
            await ws.close(code=1009, reason="frame too large")
            return
        await _answer_frame(ws, service, session, data)


async def _answer_text(ws: WebSocket, text: str, session: LiveSession) -> bool:
    """Answer a text message (reset, ping, or an error); True when it was a reset (which counts as activity)."""
    try:
        kind = json.loads(text).get("type")
    except (ValueError, AttributeError):
        kind = None
    if kind == "reset":
        session.reset()
        await ws.send_json({"type": "reset"})
        return True
    if kind == "ping":
        await ws.send_json({"type": "pong"})
    else:
        await ws.send_json({"type": "error", "error": "invalid_message", "detail": TEXT_HELP})
    return False


async def _answer_frame(ws: WebSocket, service: InferenceService, session: LiveSession, data: bytes) -> None:
    """One encoded frame -> its result message, or an error message (the stream goes on)."""
    limits = service.limits

    def work():
        t0 = time.perf_counter()
        rgb, info = decode_upload(data, limits.max_frame_pixels, what="the frame")
        faces = session.step(rgb)
        return info, faces, (time.perf_counter() - t0) * 1000.0

    try:
        info, faces, ms = await service.run(work)
    except ApiError as e:
        await ws.send_json({"type": "error", "error": e.code, "detail": e.detail})
        return
    except FerkitError as e:
        await ws.send_json({"type": "error", "error": "invalid_frame", "detail": str(e)})
        return
    await ws.send_json(
        {
            "type": "result",
            "frame": session.frames,
            "width": info["width"],
            "height": info["height"],
            "faces": [face_dict(f) for f in faces],
            "elapsed_ms": round(ms, 1),
        }
    )
