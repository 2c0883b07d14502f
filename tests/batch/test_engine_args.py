"""The engine options shared by ``ferkit predict`` and ``ferkit serve``: one definition, one check."""

from __future__ import annotations

import argparse
import sys

import pytest

from ferkit.cli._engine_args import add_engine_options, check_engine_options, positive_int
from ferkit.errors import FerkitError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_engine_options(p, engine_help="where", local_ray="a local Ray")
    return p


def test_positive_int_takes_counts_and_refuses_zero():
    assert positive_int("3") == 3
    with pytest.raises(argparse.ArgumentTypeError, match="must be >= 1, not 0"):
        positive_int("0")


def test_engine_options_defaults_and_choices():
    args = _parser().parse_args([])
    assert (args.engine, args.address) == ("local", None)
    assert _parser().parse_args(["--engine", "ray", "--address", "auto"]).address == "auto"
    with pytest.raises(SystemExit):
        _parser().parse_args(["--engine", "spark"])


def test_address_needs_the_ray_engine():
    with pytest.raises(FerkitError, match="--address is for --engine ray"):
        check_engine_options(_parser().parse_args(["--address", "auto"]))
    check_engine_options(_parser().parse_args([]))  # local, no address: fine


def test_ray_engine_without_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(FerkitError, match=r"pip install 'ferkit\[ray\]'"):
        check_engine_options(_parser().parse_args(["--engine", "ray"]))


@pytest.mark.parametrize("command", ["predict", "serve"])
def test_predict_and_serve_share_the_options(command):
    from ferkit.cli.main import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices[command]
    flags = {o: a for a in sub._actions for o in a.option_strings}
    assert flags["--engine"].choices == ("local", "ray")
    assert "the cluster to join" in flags["--address"].help
