"""The in-browser mode's downloads: what the page needs (GET /v1/browser-model), the served classifier and the
face detector as ONNX, and the onnxruntime-web files (``/vendor/ort/``)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from ferkit.web.browser_model import ORT_FILES
from ferkit.web.deps import BrowserModelDep, ServiceDep

router = APIRouter()


def _not_available(reason: str) -> JSONResponse:
    return JSONResponse({"error": "not_available", "detail": reason}, status_code=404)


@router.get("/v1/browser-model", tags=["models"])
async def browser_model_info(bm: BrowserModelDep) -> dict:
    """Whether the page can run the models in the browser (onnxruntime-web), and what it needs to."""
    return bm.info()


@router.get("/v1/browser-model/classifier.onnx", tags=["models"], response_class=Response)
async def browser_classifier(bm: BrowserModelDep, service: ServiceDep):
    """The served classifier exported to ONNX (labels and preprocessing in its metadata)."""
    if (problem := bm.problem()) is not None:
        return _not_available(problem)
    data = await service.run(bm.classifier_onnx)  # exported once, on the inference thread
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "no-cache"})


@router.get("/v1/browser-model/detector.onnx", tags=["models"], response_class=Response)
async def browser_detector(bm: BrowserModelDep):
    """The face detector's ONNX file (BlazeFace, shipped with ferkit)."""
    if (problem := bm.problem()) is not None:
        return _not_available(problem)
    data = await asyncio.to_thread(bm.detector_onnx)
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "max-age=3600"})


@router.get("/v1/browser-model/photo-detector.onnx", tags=["models"], response_class=Response)
async def browser_photo_detector(bm: BrowserModelDep):
    """The still-image face detector's ONNX file (YuNet, shipped with ferkit), where the server runs it."""
    if (problem := bm.problem()) is not None:
        return _not_available(problem)
    if bm.info().get("photo_detector") is None:
        return _not_available("this server's detector runs no YuNet passes on photos")
    data = await asyncio.to_thread(bm.photo_detector_onnx)
    return Response(data, media_type="application/octet-stream", headers={"Cache-Control": "max-age=3600"})


@router.get("/vendor/ort/{name}", include_in_schema=False)
async def ort_asset(name: str, bm: BrowserModelDep):
    data = await asyncio.to_thread(bm.ort_file, name)
    if data is None:
        return JSONResponse({"error": "not_found", "detail": "no such asset"}, status_code=404)
    return Response(
        data,
        media_type=ORT_FILES[name],
        headers={"Cache-Control": "max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
