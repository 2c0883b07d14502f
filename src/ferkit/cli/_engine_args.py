"""The options that say where analysis runs, shared by ``ferkit predict`` and ``ferkit serve``: ``--engine`` and
``--address`` (added by ``add_engine_options``), counts of workers (``positive_int``), and their check before
any model loads (``check_engine_options``)."""

from __future__ import annotations

import argparse

from ferkit.errors import FerkitError

ADDRESS_ERROR = "--address is for --engine ray (the address of a Ray cluster)"


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (a count of workers, frames, ...)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def add_engine_options(p: argparse.ArgumentParser, *, engine_help: str, local_ray: str) -> None:
    """Add ``--engine {local,ray}`` (default local) and ``--address ADDR``. local_ray: what runs without an
    address (ends the help of --address)."""
    p.add_argument("--engine", default="local", choices=("local", "ray"), help=engine_help)
    p.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="with --engine ray: the cluster to join (host:port, or auto for the one `ray start` "
        f"runs here; default: {local_ray})",
    )


def check_engine_options(args: argparse.Namespace) -> None:
    """FerkitError for --address without --engine ray, or --engine ray where Ray is not installed (with how to
    install it): said before any work, so a usage error does not wait for a model to load."""
    if args.address and args.engine != "ray":
        raise FerkitError(ADDRESS_ERROR)
    if args.engine == "ray":
        from ferkit.batch.ray_engine import require_ray

        require_ray()
