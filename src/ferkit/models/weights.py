"""Transfer learning: load weights from a local file into a model, partially, and freeze layers."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.models.checkpoint import read_file

_NESTED_KEYS = ("model", "state_dict", "model_state", "model_state_dict", "net", "ema")


def extract_state_dict(payload) -> dict[str, torch.Tensor]:
    """Find the state_dict inside ferkit / timm / torchvision / Lightning style checkpoints."""
    if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return payload
    if isinstance(payload, dict):
        for key in _NESTED_KEYS:
            if key in payload and isinstance(payload[key], dict):
                return extract_state_dict(payload[key])
    raise ModelError(
        f"no state_dict found in checkpoint (looked for a tensor mapping or keys {', '.join(_NESTED_KEYS)})"
    )


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_sha256(path: str | os.PathLike, expected: str, what: str = "weights") -> None:
    """Raise a ModelError unless the file's SHA-256 starts with ``expected`` (a full digest or a prefix)."""
    actual = file_sha256(path)
    if not actual.startswith(expected.lower()):
        raise ModelError(
            f"{what}: {path} has SHA-256 {actual[:16]}..., the config expects {expected[:16]}...; "
            "these are other weights than the ones this config's runs started from (restore that "
            "file, e.g. from git history, or change the config)"
        )


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        for prefix in ("module.", "model.", "backbone."):
            if k.startswith(prefix):
                k = k[len(prefix) :]
        out[k] = v
    return out


def load_pretrained(
    model: nn.Module, path: str | os.PathLike, skip_head: bool = True, strict_shapes: bool = False
) -> dict[str, list[str]]:
    """Copy every tensor whose name and shape match; report what was loaded, skipped and missing.

    A model that wraps another network declares where a plain classifier's weights go with a
    ``pretrained_prefix`` attribute (e.g. the Region Attention Network's shared region encoder, ``"encoder."``):
    a tensor the model does not have under its own name is tried under that prefix, so a ferresnet checkpoint
    initialises the encoder of a RAN built on a ferresnet."""
    state = _strip_prefixes(extract_state_dict(read_file(path)))
    own = model.state_dict()
    into = getattr(model, "pretrained_prefix", "")
    loaded, skipped = [], []
    for k, v in state.items():
        target = k if (k in own or not into) else into + k
        if skip_head and k.startswith("head."):
            skipped.append(k)
        elif target in own and own[target].shape == v.shape:
            own[target] = v
            loaded.append(target)
        else:
            if strict_shapes and target in own:
                raise ModelError(f"{path}: {k} has shape {tuple(v.shape)}, model expects {tuple(own[target].shape)}")
            skipped.append(k)
    if not loaded:
        raise ModelError(f"{path}: no tensor matched the model by name and shape")
    model.load_state_dict(own)
    missing = [k for k in own if k not in set(loaded)]
    return {"loaded": loaded, "skipped": skipped, "missing": missing}


def load_head(head: nn.Linear, path: str | os.PathLike, labels) -> None:
    """Copy a ferkit model file's ``head.weight`` / ``head.bias`` into ``head``; the file's labels must be
    ``labels`` in the same order (a head's rows are its labels)."""
    payload = read_file(path)
    state = _strip_prefixes(extract_state_dict(payload))
    theirs = payload.get("labels") if isinstance(payload, dict) else None
    if theirs is None or list(theirs) != list(labels):
        raise ModelError(f"{path}: its head's labels {theirs} are not this head's {list(labels)} (same order)")
    if "head.weight" not in state or state["head.weight"].shape != head.weight.shape:
        raise ModelError(f"{path}: no linear head of shape {tuple(head.weight.shape)}")
    with torch.no_grad():
        head.weight.copy_(state["head.weight"])
        if head.bias is not None and "head.bias" in state:
            head.bias.copy_(state["head.bias"])


def freeze(model: nn.Module, prefixes: Iterable[str]) -> list[str]:
    """Set requires_grad=False on parameters whose names start with any prefix; return their names."""
    prefixes = tuple(prefixes)
    frozen = []
    if not prefixes:
        return frozen
    for name, p in model.named_parameters():
        if name.startswith(prefixes):
            p.requires_grad_(False)
            frozen.append(name)
    if not frozen:
        raise ModelError(f"freeze prefixes {list(prefixes)} matched no parameter")
    return frozen
