"""Shared parsing of ``--option KEY=VALUE`` dataset options."""

from __future__ import annotations

from ferkit.errors import ConfigError


def _value(text: str):
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_options(items: list[str] | None) -> dict:
    """["mode=probability", "folds=5"] -> {"mode": "probability", "folds": 5}."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"dataset option {item!r} must look like KEY=VALUE")
        out[key.strip()] = _value(value.strip())
    return out
