"""Exception types. Every user-facing failure is a FerkitError with a message naming the culprit."""

from __future__ import annotations


class FerkitError(Exception):
    """Base class for errors that the CLI prints as one clear line (no traceback)."""


class DatasetError(FerkitError):
    """A dataset is missing, malformed or unknown."""


class ConfigError(FerkitError):
    """A config file or override is invalid."""


class ModelError(FerkitError):
    """A model name, checkpoint or weight file is invalid."""


class InputError(FerkitError):
    """An image, video or other input cannot be read."""


class OutputError(FerkitError):
    """An output file or folder cannot be written (wrong kind of path, no permission, disk full)."""


class DetectorOptionError(ModelError, ValueError):
    """A face detector was given an argument value it cannot use (the message names the argument)."""


class DetectorUnavailable(ModelError):
    """A face detector cannot run here: its weights file or runtime is missing (``auto`` then falls back)."""


class MediaError(InputError):
    """An image or video that cannot be read or decoded. ``reason`` says why, for callers that map it (the web
    layer to an HTTP status, the dataset readers to a DatasetError): 'missing' (no such readable file), 'empty',
    'unsupported' (not a known format), 'too_large' (over the pixel limit) or 'corrupt' (truncated, damaged,
    or no frame decodes)."""

    def __init__(self, message: str, reason: str = "corrupt"):
        super().__init__(message)
        self.reason = reason
