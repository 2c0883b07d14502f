"""``ferkit serve``: the web page and REST API (FastAPI + uvicorn), bound to 127.0.0.1 unless told otherwise."""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os

from ferkit.errors import FerkitError

log = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    from ferkit.web.limits import MB, Limits

    d = Limits()
    p = subparsers.add_parser("serve", help="web page and REST API for images, videos and live webcam",
                              description=__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--model", default=None, help="shipped model name or .pt/.onnx file (default: ferplus)")
    p.add_argument("--detector", default="auto", help="auto | blazeface | blazeface_short | haar")
    p.add_argument("--runtime", default="torch", choices=("torch", "onnx"), help="classifier runtime")
    p.add_argument("--threads", type=int, default=None, help="threads per inference call (default: all cores)")
    p.add_argument("--workers", type=int, default=d.workers, help="inference threads serving requests at once")
    p.add_argument("--max-upload-mb", type=float, default=d.max_image_bytes / MB, help="largest image upload")
    p.add_argument("--max-video-mb", type=float, default=d.max_video_bytes / MB, help="largest video upload")
    p.add_argument("--max-pixels", type=int, default=d.max_pixels, help="largest image, width x height")
    p.add_argument("--max-video-frames", type=int, default=d.max_video_frames,
                   help="frames decoded per video job (longer videos are cut)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="allow browser pages from this origin to call the API (repeatable; default: none)")
    p.add_argument("--ort-web", default=os.environ.get("FERKIT_ORT_WEB"), metavar="DIR",
                   help="onnxruntime-web install (`npm install onnxruntime-web`: node_modules/onnxruntime-web or "
                        "its dist folder) enabling the page's in-browser mode (default: $FERKIT_ORT_WEB; off)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for module in ("fastapi", "uvicorn", "multipart"):
        if importlib.util.find_spec(module) is None:
            raise FerkitError("`ferkit serve` needs the web extra: pip install 'ferkit[web]'")
    import uvicorn

    from ferkit.web.app import create_app
    from ferkit.web.limits import MB, Limits

    try:
        limits = Limits(max_image_bytes=int(args.max_upload_mb * MB), max_video_bytes=int(args.max_video_mb * MB),
                        max_pixels=args.max_pixels, max_video_frames=args.max_video_frames, workers=args.workers)
    except ValueError as e:
        raise FerkitError(str(e)) from None
    ws = "websockets" if importlib.util.find_spec("websockets") else "wsproto" if importlib.util.find_spec(
        "wsproto") else "none"
    if ws == "none":
        log.warning("no WebSocket library installed (pip install websockets): the live webcam falls back to "
                    "HTTP uploads")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("binding to %s: the API has no authentication; anyone who can reach this address can use it",
                    args.host)
    runtime = args.runtime
    if args.model and str(args.model).lower().endswith(".onnx"):
        runtime = "onnx"   # an exported model runs with ONNX Runtime whatever --runtime says
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    app = create_app(args.model, limits=limits, cors_origins=args.cors_origin or None, ort_web=args.ort_web,
                     detector=args.detector, runtime=runtime, threads=args.threads)
    print(f"ferkit serve: http://{'[' + args.host + ']' if ':' in args.host else args.host}:{args.port}/ "
          f"(API docs at /docs)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, ws=ws,
                ws_max_size=limits.max_frame_bytes + 4096, timeout_graceful_shutdown=5)
    return 0
