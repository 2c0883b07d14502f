"""Web app and REST API over the face pipeline: ``create_app(model=...)`` returns a FastAPI app serving the
JSON API under ``/v1``, a WebSocket for live frames, health and docs, and the browser page at ``/``.

Needs the ``web`` extra (fastapi, uvicorn, python-multipart; websockets for the live WebSocket)."""

from __future__ import annotations

__all__ = ["Limits", "create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from ferkit.web.app import create_app

        return create_app
    if name == "Limits":
        from ferkit.web.limits import Limits

        return Limits
    raise AttributeError(f"module 'ferkit.web' has no attribute {name!r}")
