"""``create_app(model=...)``: the FastAPI application. The model is loaded here, once, and shared by every
request; uploads live only in a private temporary folder removed at shutdown; CORS is off unless origins are
given; the page and its assets are read from the package into memory (no URL reaches the filesystem)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ferkit import __version__
from ferkit.errors import FerkitError
from ferkit.web.browser_model import BrowserModel, find_ort_dist
from ferkit.web.errors import ApiError
from ferkit.web.guard import LOOPBACK_HOSTS, ApiKeyGuard, HostGuard, check_api_key
from ferkit.web.job_store import JobStore
from ferkit.web.jobs import JobManager
from ferkit.web.limits import Limits
from ferkit.web.live import LiveSlots
from ferkit.web.middleware import BodyLimitMiddleware
from ferkit.web.routes import browser, health, live, models, photos, videos
from ferkit.web.server import Server
from ferkit.web.service import InferenceService
from ferkit.web.settings import WebSettings
from ferkit.web.timeouts import BodyTimeoutMiddleware

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MULTIPART_SLACK = 64 * 1024  # form boundaries and headers around the file itself
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".mjs": "text/javascript; charset=utf-8",
}
PAGE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "connect-src 'self'; style-src 'self'; "
    "script-src 'self' 'wasm-unsafe-eval'; "
    "worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
}


def model_display_name(model) -> str:
    from ferkit import pretrained

    if model is None:
        return pretrained.DEFAULT_MODEL
    if isinstance(model, (str, os.PathLike)):
        text = str(model)
        return text if text in pretrained.available() else Path(text).stem  # never reveal server paths
    return getattr(model, "arch", type(model).__name__)


def create_app(
    model=None,
    *,
    recognizer=None,
    limits: Limits | None = None,
    cors_origins: list[str] | None = None,
    model_name: str | None = None,
    ort_web: str | os.PathLike | None = None,
    allowed_hosts: Iterable[str] | None = None,
    allow_origins: Iterable[str] = (),
    api_key: str | None = None,
    state_dir: str | os.PathLike | None = None,
    engine: str | None = None,
    video_workers: int = 1,
    address: str | None = None,
    **recognizer_options,
) -> FastAPI:
    """model: shipped model name (default ferplus), .pt/.onnx path or LoadedModel, loaded once here; or pass a
    ready ``recognizer`` (an EmotionRecognizer) to share one. ``recognizer_options`` go to EmotionRecognizer
    (detector, runtime, threads, smoothing, ...). cors_origins: allowed browser origins (default: none).
    ort_web: an onnxruntime-web install (npm) for the page's in-browser mode (default: off; the page then
    always uses the server). allowed_hosts: Host header names served (default: loopback names; ``*`` any);
    allow_origins: browser origins allowed to open the live WebSocket and POST/DELETE besides the server's own
    (cors_origins are allowed too); api_key: required on every API call when set; state_dir: folder of the
    SQLite database keeping video jobs and their results across restarts (default: in memory only);
    engine: run video jobs as tasks of the batch engine, "local" (``video_workers`` processes owned by the
    server) or "ray" (``address``: the cluster; default a local Ray), each loading ``model`` with
    ``recognizer_options``; default None: on a job thread with the server's recogniser."""
    settings = WebSettings(
        model_name=model_name or model_display_name(model),
        limits=limits or Limits(),
        cors_origins=tuple(cors_origins or ()),
        allowed_hosts=tuple(LOOPBACK_HOSTS if allowed_hosts is None else allowed_hosts),
        allow_origins=tuple(allow_origins),
        api_key=check_api_key(api_key) if api_key else None,
        state_dir=Path(state_dir) if state_dir is not None else None,
        ort_web=Path(ort_web) if ort_web else None,
    )
    if recognizer is None:
        from ferkit.inference.recognizer import EmotionRecognizer

        recognizer = EmotionRecognizer(model=model, max_pixels=settings.limits.max_pixels, **recognizer_options)
    job_engine = _job_engine(model, settings, recognizer_options, engine, video_workers, address)
    server = _build_server(settings, recognizer, job_engine)
    assets = _load_assets()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        server.close()

    docs_assets = _docs_assets()
    app = FastAPI(
        title="ferkit",
        version=__version__,
        lifespan=lifespan,
        redoc_url=None,
        docs_url=None if docs_assets else "/docs",
        description="Facial expression recognition: faces, boxes and per-emotion probabilities for "
        "images, videos and live frames. Errors are JSON `{error, detail}`.",
    )
    app.state.server = server
    for routes in (health, models, photos, videos, live, browser):
        app.include_router(routes.router)
    _add_error_handlers(app)
    _add_page(app, assets)
    if docs_assets:
        _add_docs(app, docs_assets)
    _add_middleware(app, settings)
    return app


def _job_engine(
    model, settings: WebSettings, recognizer_options: dict, engine: str | None, workers: int, address: str | None
):
    """The JobEngine of the video jobs (None without ``engine``): its workers load the model themselves."""
    if engine is None:
        if address:
            raise FerkitError("--address is for --engine ray (the address of a Ray cluster)")
        return None
    if model is not None and not isinstance(model, (str, os.PathLike)):
        raise FerkitError("a video job engine loads the model in its workers: give the model as a name or file")
    from ferkit.batch.options import AnalysisOptions
    from ferkit.web.job_runner import JobEngine

    limits = settings.limits
    options = AnalysisOptions(
        recognizer={
            **recognizer_options,
            "model": None if model is None else str(model),
            "max_pixels": limits.max_pixels,
        },
        model_name=settings.model_name,
        max_frames=limits.max_video_frames,
    )
    return JobEngine(options, engine=engine, workers=workers, address=address)


def _build_server(settings: WebSettings, recognizer, job_engine=None) -> Server:
    """The app's shared parts: the inference service, the video jobs, the live slots, the in-browser model and
    a private temporary folder for uploads."""
    service = InferenceService(recognizer, settings.model_name, settings.limits)
    browser_model = BrowserModel(service, find_ort_dist(settings.ort_web))
    if settings.ort_web and browser_model.ort_dir is None:
        log.warning("%s: no onnxruntime-web WebAssembly build found; in-browser mode is off", settings.ort_web)
    return Server(
        settings=settings,
        service=service,
        jobs=JobManager(
            recognizer, settings.model_name, settings.limits, store=JobStore(settings.state_dir), engine=job_engine
        ),
        live=LiveSlots(settings.limits),
        browser_model=browser_model,
        tmpdir=Path(tempfile.mkdtemp(prefix="ferkit-web-")),
    )


def _add_middleware(app: FastAPI, settings: WebSettings) -> None:
    """The last added runs first: Host/Origin, then the API key, CORS, body timeouts, body size."""
    limits = settings.limits

    def limit_for(path: str) -> int:
        big = path.rstrip("/") == "/v1/predict/video"
        return (limits.max_video_bytes if big else limits.max_image_bytes) + MULTIPART_SLACK

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(BodyTimeoutMiddleware, body_timeout_s=limits.body_timeout_s, min_body_rate=limits.min_body_rate)
    if settings.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
        )
    if settings.api_key:
        app.add_middleware(ApiKeyGuard, key=settings.api_key)
    app.add_middleware(
        HostGuard, allowed_hosts=settings.allowed_hosts, allow_origins=(*settings.allow_origins, *settings.cors_origins)
    )


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, e: ApiError):
        return JSONResponse(e.body(), status_code=e.status, headers=e.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        return JSONResponse(
            {"error": code, "detail": str(e.detail)}, status_code=e.status_code, headers=getattr(e, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, e: RequestValidationError):
        problems = []
        for err in e.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            if err.get("type") == "missing" and err.get("loc", ())[:1] == ("body",):
                problems.append(
                    f"missing form field {where!r} (send the upload as multipart/form-data field {where!r})"
                )
            else:
                problems.append(f"{where}: {err.get('msg')}")
        return JSONResponse(
            {"error": "invalid_request", "detail": "; ".join(problems) or "invalid request"}, status_code=422
        )

    @app.exception_handler(FerkitError)
    async def ferkit_error(request: Request, e: FerkitError):
        return JSONResponse({"error": "invalid_input", "detail": str(e)}, status_code=422)


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """Every file of the static folder, read once: name -> (bytes, content type)."""
    out = {}
    if STATIC.is_dir():
        for f in sorted(STATIC.iterdir()):
            if f.is_file() and f.suffix in CONTENT_TYPES:
                out[f.name] = (f.read_bytes(), CONTENT_TYPES[f.suffix])
    return out


def _add_page(app: FastAPI, assets: dict[str, tuple[bytes, str]]) -> None:
    @app.get("/", include_in_schema=False)
    async def index():
        if "index.html" not in assets:
            return JSONResponse({"error": "not_found", "detail": "the page is not installed"}, status_code=404)
        body, ctype = assets["index.html"]
        return Response(body, media_type=ctype, headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str):
        if name not in assets:  # a dictionary lookup: the name never reaches the filesystem
            return JSONResponse({"error": "not_found", "detail": "no such asset"}, status_code=404)
        body, ctype = assets[name]
        return Response(body, media_type=ctype, headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})


def _docs_assets() -> dict[str, tuple[bytes, str]]:
    """Swagger UI's files from the swagger-ui-bundle package, so /docs works offline; {} if not installed
    (FastAPI's default /docs then loads Swagger UI from a CDN)."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return {}
    types = {
        "swagger-ui-bundle.js": CONTENT_TYPES[".js"],
        "swagger-ui.css": CONTENT_TYPES[".css"],
        "favicon-32x32.png": "image/png",
    }
    try:
        return {name: ((Path(swagger_ui_path) / name).read_bytes(), ctype) for name, ctype in types.items()}
    except OSError:
        return {}


def _add_docs(app: FastAPI, files: dict[str, tuple[bytes, str]]) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="ferkit API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.get("/docs-assets/{name}", include_in_schema=False)
    async def docs_asset(name: str):
        if name not in files:
            return JSONResponse({"error": "not_found", "detail": "no such asset"}, status_code=404)
        body, ctype = files[name]
        return Response(body, media_type=ctype, headers={"Cache-Control": "max-age=86400"})
