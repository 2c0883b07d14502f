"""``ferkit serve``: the web page and REST API (FastAPI + uvicorn), bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os

from ferkit.cli._engine_args import add_engine_options, check_engine_options, positive_int
from ferkit.errors import FerkitError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    from ferkit.cli._pipeline_args import add_tta_option
    from ferkit.web.limits import MB, Limits

    d = Limits()
    p = subparsers.add_parser(
        "serve", help="web page and REST API for images, videos and live webcam", description=__doc__
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--model", default=None, help="shipped model name or .pt/.onnx file (default: ferplus)")
    p.add_argument(
        "--detector",
        default="auto",
        help="auto | blazeface | blazeface_short | haar | none (default for requests; they may pick another)",
    )
    p.add_argument("--runtime", default="torch", choices=("torch", "onnx"), help="classifier runtime")
    p.add_argument("--threads", type=int, default=None, help="threads per inference call (default: all cores)")
    add_tta_option(p)
    p.add_argument("--workers", type=int, default=d.workers, help="inference threads serving requests at once")
    p.add_argument(
        "--video-workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="video jobs analysed at once, each by a worker process of the batch engine (or a Ray actor "
        "with --engine ray); default 1, so photos and live frames keep a core",
    )
    add_engine_options(
        p,
        engine_help="where video jobs run: local worker processes (default) or a Ray cluster, as `ferkit predict`",
        local_ray="a local Ray with --video-workers CPUs",
    )
    p.add_argument("--max-upload-mb", type=float, default=d.max_image_bytes / MB, help="largest image upload")
    p.add_argument("--max-video-mb", type=float, default=d.max_video_bytes / MB, help="largest video upload")
    p.add_argument("--max-pixels", type=int, default=d.max_pixels, help="largest image, width x height")
    p.add_argument(
        "--max-video-frames",
        type=int,
        default=d.max_video_frames,
        help="frames decoded per video job (longer videos are cut)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from this origin to call the API (repeatable; default: none)",
    )
    p.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser pages from this origin to open the live WebSocket and send uploads "
        "(repeatable; default: the server's own origin only)",
    )
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help="accept requests whose Host header names HOST (repeatable; *.example.com for subdomains, "
        "* for any; default: localhost, 127.0.0.1, ::1 and the --host address)",
    )
    p.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="require this key on every API call (Authorization: Bearer KEY or X-API-Key: KEY; "
        "default: $FERKIT_API_KEY); needed to bind to a non-loopback address",
    )
    p.add_argument("--insecure", action="store_true", help="allow binding to a non-loopback address without an API key")
    p.add_argument(
        "--max-live-per-client",
        type=int,
        default=d.max_live_per_client,
        help="live WebSocket sessions per client address",
    )
    for flag, default, text in (
        ("--live-idle-timeout", d.live_idle_s, "close a live session that sends no frame for S seconds"),
        (
            "--header-timeout",
            d.header_timeout_s,
            "drop a connection that has not sent a request's headers within S seconds",
        ),
        ("--body-timeout", d.body_timeout_s, "answer 408 when an upload stalls for S seconds ..."),
    ):
        p.add_argument(flag, type=float, default=default, metavar="S", help=text)
    p.add_argument(
        "--min-upload-rate",
        type=float,
        default=d.min_body_rate / 1024,
        metavar="KIB_S",
        help="... or averages under KIB_S KiB/s after its first S seconds",
    )
    p.add_argument(
        "--ort-web",
        default=os.environ.get("FERKIT_ORT_WEB"),
        metavar="DIR",
        help="onnxruntime-web install (`npm install onnxruntime-web`: node_modules/onnxruntime-web or "
        "its dist folder) enabling the page's in-browser mode (default: $FERKIT_ORT_WEB; off)",
    )
    p.add_argument(
        "--state-dir",
        default=None,
        metavar="DIR",
        help="folder of the SQLite database keeping video jobs and their results across restarts "
        "(default: serve-PORT in ferkit's cache folder, $FERKIT_CACHE or ~/.cache/ferkit)",
    )
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost


def allowed_host_names(bind: str, extra: list[str]) -> list[str]:
    """Loopback names, the bound address when it is a concrete one, and --allowed-host."""
    from ferkit.web.guard import LOOPBACK_HOSTS

    names = list(LOOPBACK_HOSTS)
    if bind not in ("0.0.0.0", "::", "") and bind.strip("[]").lower() not in names:
        names.append(bind.strip("[]").lower())
    return names + [h for h in extra if h not in names]


def run(args: argparse.Namespace) -> int:
    for module in ("fastapi", "uvicorn", "multipart"):
        if importlib.util.find_spec(module) is None:
            raise FerkitError("`ferkit serve` needs the web extra: pip install 'ferkit[web]'")
    import uvicorn

    from ferkit.web.app import create_app
    from ferkit.web.guard import check_api_key
    from ferkit.web.limits import MB, Limits
    from ferkit.web.timeouts import header_timeout_protocol

    try:
        limits = Limits(
            max_image_bytes=int(args.max_upload_mb * MB),
            max_video_bytes=int(args.max_video_mb * MB),
            max_pixels=args.max_pixels,
            max_video_frames=args.max_video_frames,
            workers=args.workers,
            max_live_per_client=args.max_live_per_client,
            live_idle_s=args.live_idle_timeout,
            header_timeout_s=args.header_timeout,
            body_timeout_s=args.body_timeout,
            min_body_rate=max(1, round(args.min_upload_rate * 1024)),
        )
        api_key = check_api_key(args.api_key) if args.api_key else None
        if api_key is None and os.environ.get("FERKIT_API_KEY"):
            api_key = check_api_key(os.environ["FERKIT_API_KEY"])
    except ValueError as e:
        raise FerkitError(str(e)) from None
    check_engine_options(args)
    allowed_hosts = allowed_host_names(args.host, args.allowed_host)
    if not is_loopback(args.host):
        if api_key is None and not args.insecure:
            raise FerkitError(
                f"binding to {args.host} lets other machines use the API: give --api-key KEY (or set "
                "FERKIT_API_KEY), or --insecure to serve without authentication"
            )
        if api_key is None:
            log.warning(
                "binding to %s without an API key (--insecure): anyone who can reach this address can use the API",
                args.host,
            )
        if args.host in ("0.0.0.0", "::") and not args.allowed_host:
            log.warning(
                "only the Host names %s are served; add --allowed-host NAME for the names or addresses "
                "clients use to reach this machine",
                ", ".join(allowed_hosts),
            )
    ws = (
        "websockets-sansio"
        if importlib.util.find_spec("websockets")
        else "wsproto"
        if importlib.util.find_spec("wsproto")
        else "none"
    )
    if ws == "none":
        log.warning(
            "no WebSocket library installed (pip install websockets): the live webcam falls back to HTTP uploads"
        )
    runtime = args.runtime
    if args.model and str(args.model).lower().endswith(".onnx"):
        runtime = "onnx"  # an exported model runs with ONNX Runtime whatever --runtime says
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from ferkit.web.job_store import default_state_dir

    state_dir = args.state_dir or default_state_dir(args.port)
    app = create_app(
        args.model,
        limits=limits,
        state_dir=state_dir,
        cors_origins=args.cors_origin or None,
        ort_web=args.ort_web,
        allowed_hosts=allowed_hosts,
        allow_origins=args.allow_origin,
        api_key=api_key,
        detector=args.detector,
        runtime=runtime,
        threads=args.threads,
        tta=args.tta,
        engine=args.engine,
        video_workers=args.video_workers,
        address=args.address,
    )
    print(
        f"ferkit serve: http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/ "
        f"(API docs at /docs)",
        flush=True,
    )
    # Frames up to 4x the limit reach the handler, which answers them with the JSON error and a clean close;
    # bigger ones are cut off by the WebSocket layer (close code 1009) before they are buffered whole.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws=ws,
        ws_max_size=4 * limits.max_frame_bytes + 4096,
        timeout_graceful_shutdown=5,
        http=header_timeout_protocol(limits.header_timeout_s),
    )
    return 0
