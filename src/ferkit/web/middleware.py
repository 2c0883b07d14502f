"""Request-size limit as plain ASGI middleware: a body over the limit is refused with 413 JSON as soon as the
declared Content-Length (or, for chunked uploads, the bytes received so far) passes it, before it is parsed."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from ferkit.web.errors import ApiError, too_large


class BodyLimitMiddleware:
    """``limit_for(path) -> bytes`` gives the largest body accepted for that request path."""

    def __init__(self, app, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _reject(send, limit)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large("the request body", limit)
            return message

        async def answer(e: ApiError) -> None:
            await _reject(send, limit)

        await call_guarding_body(self.app, scope, limited_receive, send, 413, answer)


async def call_guarding_body(
    app, scope, receive, send, status: int, answer: Callable[[ApiError], Awaitable[None]]
) -> None:
    """Run ``app`` with a wrapped ``receive`` that may raise ApiError(``status``) while the body is read. Raised
    outside FastAPI's handlers (e.g. when the app reads the body itself), it is answered by ``answer`` if no
    response has started yet, else re-raised."""
    started = False

    async def tracking_send(message):
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except ApiError as e:
        if e.status != status or started:
            raise
        await answer(e)


async def _reject(send, limit: int) -> None:
    body = json.dumps(too_large("the request body", limit).body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
