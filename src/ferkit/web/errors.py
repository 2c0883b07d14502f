"""HTTP errors of the API: one JSON shape, ``{"error": code, "detail": message}``, for every 4xx/5xx."""

from __future__ import annotations

from starlette.exceptions import HTTPException


class ApiError(HTTPException):
    """An error answered to the client as JSON with this HTTP status and a stable machine-readable code.
    An HTTPException, so that FastAPI passes it through when it is raised while the body is being read."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(status_code=status, detail=detail, headers=headers)
        self.status, self.code = status, code

    def body(self) -> dict:
        return {"error": self.code, "detail": self.detail}


def too_large(what: str, limit_bytes: int) -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"{what} is larger than the limit of {limit_bytes} bytes ({limit_bytes / 1024 / 1024:.1f} MiB)",
    )
