"""Uploaded bytes -> validated inputs. The type is sniffed from the content (magic numbers, then the decoder),
never taken from the file name or the client's Content-Type; sizes are checked before decoding."""
from __future__ import annotations

import numpy as np

from ferkit.faces import image_io
from ferkit.web.errors import ApiError

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_IMAGE_MAGIC = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"),
                (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


_STATUS = {"empty": (422, "empty_file"), "unsupported": (415, "unsupported_media_type"),
           "too_large": (413, "image_too_large"), "corrupt": (422, "invalid_image")}


def sniff_image(data: bytes) -> str | None:
    """The image format named by the leading bytes, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _IMAGE_MAGIC:
        if data.startswith(magic):
            return fmt
    return None


def decode_image(data: bytes, max_pixels: int, what: str = "upload") -> tuple[np.ndarray, dict]:
    """Encoded image bytes -> (RGB uint8 array, {"width", "height", "format"}).

    Raises ApiError: 422 empty, 415 not an image of a supported format, 413 more pixels than ``max_pixels``
    (checked from the header, before the pixels are decoded), 422 truncated or corrupt."""
    if not data:
        raise ApiError(422, "empty_file", f"{what} is empty (0 bytes)")
    fmt = sniff_image(data)
    if fmt is None:
        raise ApiError(415, "unsupported_media_type",
                       f"{what} is not an image in a supported format ({', '.join(IMAGE_FORMATS)}); "
                       "the type is read from the content, not the file name")
    try:
        rgb = image_io.decode_image(data, max_pixels, what, formats=[fmt])   # ferkit's one decoder
    except image_io.ImageDecodeError as e:
        status, code = _STATUS[e.reason]
        raise ApiError(status, code, str(e)) from None
    return rgb, {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "format": fmt.lower()}


def sniff_video(head: bytes) -> str | None:
    """A file suffix for a video container recognised from its first bytes (at least 16), or None."""
    if head[4:8] == b"ftyp":
        return ".mov" if head[8:10] == b"qt" else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head[:64] else ".mkv"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ".avi"
    if head.startswith(b"\x00\x00\x01\xba") or head.startswith(b"\x00\x00\x01\xb3"):
        return ".mpg"
    if head.startswith(b"OggS"):
        return ".ogv"
    if head.startswith(b"YUV4MPEG2"):
        return ".y4m"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return ".ts"
    return None
