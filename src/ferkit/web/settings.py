"""The server's settings, in one typed record: what ``create_app`` (and ``ferkit serve``) was configured with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ferkit.web.guard import LOOPBACK_HOSTS
from ferkit.web.limits import Limits


@dataclass(frozen=True)
class WebSettings:
    """model_name: the name the API reports for the served model; limits: resource limits; cors_origins:
    browser origins allowed by CORS; allowed_hosts: Host header names served (``*``: any); allow_origins: other
    origins allowed to open the live WebSocket and POST/DELETE; api_key: required on every API call when set;
    state_dir: folder of the SQLite job store (None: in memory); ort_web: the onnxruntime-web install of the
    in-browser mode (None: off)."""

    model_name: str
    limits: Limits = field(default_factory=Limits)
    cors_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    allow_origins: tuple[str, ...] = ()
    api_key: str | None = None
    state_dir: Path | None = None
    ort_web: Path | None = None
