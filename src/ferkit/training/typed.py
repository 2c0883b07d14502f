"""Typed configs: one YAML loader, dotted overrides, and values checked against dataclass type hints.

``build(Cls, mapping)`` converts each value to its field's declared type (``optim.lr=1e-3`` is a float even
though YAML reads ``1e-3`` as a string) and raises a one-line ConfigError naming the key when it cannot
(``epochs=three``, ``optim.batch_size=64.5``). Every config kind (training, fine-tuning, autoencoder) uses it.
A recipe may start from others with ``base: file.yaml`` (resolved by ``read_yaml``, before any override).
"""

from __future__ import annotations

import dataclasses
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from ferkit.errors import ConfigError


def _read_mapping(path: Path) -> dict:
    """One YAML file's mapping; missing files and bad YAML are one-line ConfigErrors."""
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: invalid YAML ({' '.join(str(e).split())})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(raw).__name__}")
    return raw


def deep_merge(base: dict, over: dict) -> dict:
    """``over`` laid on ``base``: sections merge key by key, any other value (lists included) replaces."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _resolve(path: Path, chain: tuple[Path, ...]) -> dict:
    """``path``'s mapping with its ``base:`` recipes merged underneath (depth first, in the order listed)."""
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain[chain.index(path) :], path))
        raise ConfigError(f"{chain[-1]}: config inheritance cycle ({cycle})")
    raw = _read_mapping(path)
    bases = raw.pop("base", None)
    if bases is None:
        return raw
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not bases or not all(isinstance(b, str) and b for b in bases):
        raise ConfigError(f"{path}: base must be a file name or a list of file names, got {bases!r}")
    merged: dict = {}
    for name in bases:
        base_path = path.parent / name
        if not base_path.is_file():
            raise ConfigError(f"{path}: base recipe {name!r} not found (looked for {base_path})")
        merged = deep_merge(merged, _resolve(base_path, (*chain, path)))
    return deep_merge(merged, raw)


def read_yaml(path: str | Path | None) -> dict:
    """A YAML mapping from a file (None -> {}), with ``base:`` inheritance resolved.

    ``base: other.yaml`` (or a list of files, merged in order) names recipes this one starts from, relative to
    this file's folder; this file's keys are deep-merged over them (sections key by key, lists replaced), and a
    base may itself have a base. Missing files, bad YAML and inheritance cycles are one-line ConfigErrors.
    """
    if path is None:
        return {}
    if not Path(path).is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    return _resolve(Path(path), ())


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=value`` strings (values parsed as YAML) to a nested dict."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.sub=value")
        key, text = item.split("=", 1)
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a section")
        try:
            node[parts[-1]] = yaml.safe_load(text)
        except yaml.YAMLError:
            node[parts[-1]] = text  # not YAML (e.g. an unbalanced bracket): a plain string, checked by type below
    return raw


def _name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def coerce(value: Any, hint, key: str) -> Any:
    """``value`` converted to type ``hint``, or a ConfigError naming ``key``."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, key)
            except ConfigError as e:
                errors.append(e)
        raise errors[0]
    if dataclasses.is_dataclass(hint):
        return build(hint, value if value is not None else {}, key + ".")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}={value!r}: expected true or false")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{key}={value!r}: expected an integer")
        try:
            number = float(value)
        except ValueError:
            raise ConfigError(f"{key}={value!r}: expected an integer") from None
        if not number.is_integer():
            raise ConfigError(f"{key}={value!r}: expected an integer")
        return int(number)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{key}={value!r}: expected a number")
        try:
            return float(value)  # YAML 1.1 reads 1e-3 as a string; float() reads it as a number
        except ValueError:
            raise ConfigError(f"{key}={value!r}: expected a number") from None
    if hint is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{key}={value!r}: expected a string")
        return str(value)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}={value!r}: expected a list")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{key}={value!r}: expected {len(args)} values")
            return tuple(coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        out = [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if origin is tuple else out
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}={value!r}: expected a mapping")
        return dict(value)
    return value


def build(cls, values: dict, where: str = ""):
    """An instance of dataclass ``cls`` from a (possibly partial) mapping; unknown keys list the valid ones."""
    if not isinstance(values, dict):
        raise ConfigError(f"{where.rstrip('.') or 'config'}: expected a mapping, got {type(values).__name__}")
    hints = get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"unknown config key(s) {', '.join(where + k for k in unknown)}; "
            f"valid keys{' in ' + where.rstrip('.') if where else ''}: {', '.join(sorted(names))}"
        )
    return cls(**{k: coerce(v, hints[k], where + k) for k, v in values.items()})


def load_typed(cls, path: str | Path | None = None, overrides: list[str] | None = None):
    """YAML file + overrides -> an instance of ``cls`` (types checked)."""
    return build(cls, apply_overrides(read_yaml(path), overrides or []))


__all__ = ["apply_overrides", "build", "coerce", "deep_merge", "load_typed", "read_yaml"]
