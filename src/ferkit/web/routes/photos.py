"""POST /v1/predict: one photo -> its faces."""

from __future__ import annotations

import time

from fastapi import APIRouter, File, Query, UploadFile

from ferkit.web.deps import ServiceDep
from ferkit.web.errors import too_large
from ferkit.web.routes.common import ERRORS, face_dict
from ferkit.web.schemas import PredictResponse
from ferkit.web.uploads import decode_upload

router = APIRouter()


@router.post("/v1/predict", response_model=PredictResponse, responses=ERRORS, tags=["predict"])
async def predict(
    service: ServiceDep,
    file: UploadFile = File(..., description="an image (JPEG, PNG, WebP, BMP, GIF or TIFF)"),
    detector: str | None = Query(
        None,
        description=(
            "face detector for this image: auto | blazeface | blazeface_short | haar | none (the image "
            "is already a face crop: classify it whole); default: the server's"
        ),
    ),
) -> dict:
    """One image -> every face found: box, per-emotion probabilities and the top label. When no face is found
    in an image that could itself be a face crop, ``hint`` says so."""
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
    return {
        "model": service.model_name,
        "labels": list(service.labels),
        "image": info,
        "faces": [face_dict(f) for f in faces],
        "hint": getattr(faces, "hint", None),
        "elapsed_ms": round(ms, 1),
    }
