"""Split-name normalisation shared by the readers."""

from __future__ import annotations

from ferkit.errors import DatasetError

FER_SPLITS = ("Training", "PublicTest", "PrivateTest")
_ALIASES = {
    "training": "Training",
    "train": "Training",
    "publictest": "PublicTest",
    "public": "PublicTest",
    "val": "PublicTest",
    "valid": "PublicTest",
    "validation": "PublicTest",
    "privatetest": "PrivateTest",
    "private": "PrivateTest",
    "test": "PrivateTest",
}


def fer_split(split: str) -> str:
    """Map user spellings (train/val/test, any case) to FER2013's Usage values."""
    key = split.replace("_", "").replace("-", "").lower()
    if key not in _ALIASES:
        raise DatasetError(f"unknown split {split!r}; choose from {', '.join(FER_SPLITS)} (or train/val/test)")
    return _ALIASES[key]
