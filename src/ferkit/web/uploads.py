"""Uploaded bytes -> validated inputs. The type is sniffed from the content (``ferkit.media.sniff``), never
taken from the file name or the client's Content-Type; sizes are checked before decoding; the media module's
errors become HTTP errors here."""

from __future__ import annotations

import numpy as np

from ferkit.errors import MediaError
from ferkit.media.images import decode_image
from ferkit.media.sniff import IMAGE_FORMATS, sniff_image
from ferkit.web.errors import ApiError

_STATUS = {
    "empty": (422, "empty_file"),
    "unsupported": (415, "unsupported_media_type"),
    "too_large": (413, "image_too_large"),
    "corrupt": (422, "invalid_image"),
}


def decode_upload(data: bytes, max_pixels: int, what: str = "upload") -> tuple[np.ndarray, dict]:
    """Encoded image bytes -> (RGB uint8 array, {"width", "height", "format"}).

    Raises ApiError: 422 empty, 415 not an image of a supported format, 413 more pixels than ``max_pixels``
    (checked from the header, before the pixels are decoded), 422 truncated or corrupt."""
    if not data:
        raise ApiError(422, "empty_file", f"{what} is empty (0 bytes)")
    fmt = sniff_image(data)
    if fmt is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"{what} is not an image in a supported format ({', '.join(IMAGE_FORMATS)}); "
            "the type is read from the content, not the file name",
        )
    try:
        rgb = decode_image(data, max_pixels, what, formats=[fmt])  # ferkit's one decoder
    except MediaError as e:
        status, code = _STATUS[e.reason]
        raise ApiError(status, code, str(e)) from None
    return rgb, {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "format": fmt.lower()}
