"""Checks of face-detector arguments: an unknown name is a TypeError, a bad value a ValueError
(:class:`~ferkit.errors.DetectorOptionError`), each naming the detector and the argument."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from numbers import Real

from ferkit.errors import DetectorOptionError


def check_names(detector: str, builder: Callable, options: dict) -> None:
    """TypeError naming every option ``builder`` does not take (its ``__signature__`` where it wraps a class)."""
    params = inspect.signature(builder).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    known = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(
            f"face detector {detector!r} takes no argument {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(known) or 'none'}"
        )


def number(
    detector: str,
    name: str,
    value,
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
    optional: bool = False,
):
    """``value`` as float (int with ``integer``) within [lo, hi]; TypeError for a non-number, ValueError
    (DetectorOptionError) out of range. ``optional``: None passes through."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, Real) or (integer and value != int(value)):
        kind = "an integer" if integer else "a number"
        raise TypeError(f"{detector} detector: {name} must be {kind}, not {value!r}")
    value = int(value) if integer else float(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"in [{lo}, {hi}]"
        raise DetectorOptionError(f"{detector} detector: {name} must be {bounds}, not {value}")
    return value


def choice(detector: str, name: str, value, choices: tuple) -> str:
    if value not in choices:
        raise DetectorOptionError(
            f"{detector} detector: {name} must be one of {', '.join(map(repr, choices))}, not {value!r}"
        )
    return value
