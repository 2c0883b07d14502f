"""``ferkit`` entry point. Each sub-command lives in its own module ``ferkit.cli.<name>`` exposing
``add_parser(subparsers)`` (which sets ``func``) so commands stay small and independent."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from ferkit.errors import FerkitError

COMMANDS = (
    "predict",
    "webcam",
    "models",
    "train",
    "evaluate",
    "prepare",
    "stats",
    "export",
    "features",
    "serve",
    "benchmark",
    "finetune",
    "ensemble",
    "calibrate",
    "compare",
)


def build_parser() -> argparse.ArgumentParser:
    from ferkit import __version__

    parser = argparse.ArgumentParser(prog="ferkit", description="Facial expression recognition toolkit")
    parser.add_argument("--version", action="version", version=f"ferkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"ferkit.cli.cmd_{name}")
        except ModuleNotFoundError as e:
            if e.name == f"ferkit.cli.cmd_{name}":
                continue  # command not built in this install
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # KEY=VALUE overrides may stand anywhere among the flags (argparse only collects one run of them)
        if isinstance(getattr(args, "overrides", None), list) and all(
            "=" in e and not e.startswith("-") for e in extra
        ):
            args.overrides += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except FerkitError as e:
        if args.verbose:
            raise
        print(f"ferkit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
