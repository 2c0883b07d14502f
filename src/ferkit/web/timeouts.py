"""Slow and half-open clients are dropped: uvicorn 0.38 has a keep-alive timeout but none for a request's
headers or body, so a client trickling bytes (or sending none) could hold a connection forever.

- ``header_timeout_protocol(seconds)``: uvicorn's h11 protocol with a deadline for each request's headers
  (from the connection's start, or the end of the previous response); a connection that misses it is closed.
- ``BodyTimeoutMiddleware``: each piece of a request body must arrive within ``body_timeout_s``, and after
  that grace period the upload must average ``min_body_rate`` bytes/s; a slower one is answered 408."""

from __future__ import annotations

import asyncio
import time

from ferkit.web.errors import ApiError
from ferkit.web.guard import refuse
from ferkit.web.middleware import call_guarding_body


def _too_slow(detail: str) -> ApiError:
    return ApiError(408, "request_timeout", detail, headers={"Connection": "close"})


class BodyTimeoutMiddleware:
    def __init__(self, app, body_timeout_s: float, min_body_rate: float):
        self.app = app
        self.timeout = body_timeout_s
        self.rate = min_body_rate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        start = time.monotonic()
        received, finished = 0, False

        async def timed_receive():
            nonlocal received, finished
            if finished:  # the body is complete: later receives only wait for a disconnect
                return await receive()
            now = time.monotonic()
            # the time by which the bytes so far would fall under the minimum average rate
            rate_deadline = start + self.timeout + received / self.rate
            wait = max(0.0, min(self.timeout, rate_deadline - now))
            try:
                message = await asyncio.wait_for(receive(), wait)
            except asyncio.TimeoutError:
                raise _too_slow(
                    f"the request body arrived too slowly ({received} bytes in {now - start:.0f} s; "
                    f"needed a piece every {self.timeout:g} s and {self.rate:g} bytes/s on "
                    "average)"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
            return message

        async def answer(e: ApiError) -> None:
            await refuse(scope, send, 408, e.code, e.detail, headers=e.headers)

        await call_guarding_body(self.app, scope, timed_receive, send, 408, answer)


def header_timeout_protocol(seconds: float):
    """A uvicorn HTTP protocol class (pass as ``uvicorn.run(http=...)``) enforcing the header deadline."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        _timer: asyncio.TimerHandle | None = None
        _armed_cycle = None

        def _arm(self) -> None:
            self._disarm()
            self._armed_cycle = self.cycle
            self._timer = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expired(self) -> None:
            self._timer = None
            busy = self.cycle is not None and not self.cycle.response_complete
            if not busy and self.cycle is self._armed_cycle and not self.transport.is_closing():
                self.transport.close()  # no complete request since the deadline was set

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not self._armed_cycle:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def handle_websocket_upgrade(self, event) -> None:
            self._disarm()  # the WebSocket protocol takes the connection over (it has its own pings)
            super().handle_websocket_upgrade(event)

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
