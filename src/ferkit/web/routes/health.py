"""GET /healthz: liveness and load."""

from __future__ import annotations

import time

from fastapi import APIRouter

from ferkit.web.deps import JobsDep, LiveSlotsDep, ServiceDep
from ferkit.web.schemas import Health

router = APIRouter()


@router.get("/healthz", response_model=Health, tags=["service"])
async def healthz(service: ServiceDep, jobs: JobsDep, live: LiveSlotsDep) -> dict:
    """Liveness: answers at once, also while inference is busy (it never runs on the event loop)."""
    return {
        "status": "ok",
        "model": service.model_name,
        "uptime_s": round(time.time() - service.started, 1),
        "pending": service.pending,
        "served": service.served,
        "jobs": jobs.counts(),
        "live_sessions": live.open,
    }
