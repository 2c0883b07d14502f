"""`ferkit webcam`: live annotated video from a camera in a window (needs a display, a camera and an OpenCV
with GUI support: `pip install ferkit[gui]`). Without them: `ferkit predict --source 0 --jsonl out.jsonl`
(no window), or the live webcam of the web page (`ferkit serve`)."""

from __future__ import annotations

import argparse
import os
import sys

from ferkit.cli._pipeline_args import add_pipeline_options, build_recognizer
from ferkit.errors import FerkitError, InputError

WINDOW = "ferkit (press q or Esc to quit)"
INSTEAD = (
    "use `ferkit predict --source 0 --jsonl results.jsonl [--output DIR]` (no window needed), or the live "
    "webcam of the web page (`ferkit serve`)"
)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("webcam", help="live facial expression recognition from a camera", description=__doc__)
    p.add_argument("--camera", type=int, default=0, help="camera index (default 0)")
    p.add_argument("--every-n-frames", type=int, default=1, help="analyse every n-th frame")
    p.add_argument("--no-bars", action="store_true", help="annotate without probability bars")
    add_pipeline_options(p)
    p.set_defaults(func=lambda args: run_live(args, camera=args.camera))


def check_display() -> None:
    """Raise a FerkitError explaining why no window can be shown, if none can."""
    import cv2

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise FerkitError(f"no display available (DISPLAY is not set): `ferkit webcam` shows a window; {INSTEAD}")
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
    except cv2.error:
        raise FerkitError(
            "this OpenCV build has no GUI support (opencv-python-headless): install the GUI build "
            "with `pip uninstall -y opencv-python-headless && pip install 'ferkit[gui]'`, or "
            f"{INSTEAD}"
        ) from None


def run_live(args: argparse.Namespace, camera: int = 0) -> int:
    import cv2

    from ferkit.inference.drawing import annotate

    check_display()
    recognizer = build_recognizer(args)
    try:
        stream = recognizer.predict_video(camera, every_n_frames=getattr(args, "every_n_frames", 1), return_frames=True)
        for result, rgb in stream:
            frame = annotate(rgb, result.faces, bars=not getattr(args, "no_bars", False))
            cv2.imshow(WINDOW, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                break
    except InputError as e:
        raise FerkitError(f"camera {camera}: {e}") from None
    finally:
        cv2.destroyAllWindows()
    return 0
