"""What a media file is: one table of image suffixes, one of video suffixes, and the content signatures that
identify an image format or a video container whatever the file is called (uploads, files without a suffix)."""

from __future__ import annotations

import os
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm"})
VIDEO_SUFFIXES = frozenset(
    {
        ".mp4",
        ".avi",
        ".mov",
        ".mkv",
        ".webm",
        ".m4v",
        ".mpg",
        ".mpeg",
        ".wmv",
        ".ogv",
        ".ogg",
        ".3gp",
        ".3g2",
        ".flv",
        ".ts",
        ".mts",
        ".m2ts",
        ".asf",
        ".vob",
        ".mxf",
        ".y4m",
        ".divx",
        ".f4v",
    }
)
IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # the Pillow formats ``sniff_image`` recognises
VIDEO_CONTAINERS = "MP4/MOV, WebM/MKV, AVI, MPEG, MPEG-TS, Ogg, FLV, ASF/WMV, Y4M"  # what ``sniff_video`` knows
SNIFF_BYTES = 512  # leading bytes that are enough for every signature below

_IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")


def sniff_image(head: bytes) -> str | None:
    """The image format (one of IMAGE_FORMATS) named by the leading bytes, or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    for magic, fmt in _IMAGE_MAGIC:
        if head.startswith(magic):
            return fmt
    return None


def sniff_video(head: bytes) -> str | None:
    """A file suffix for the video container (of the formats OpenCV's FFmpeg reads) recognised from its leading
    bytes (SNIFF_BYTES are enough), or None."""
    if head[4:8] == b"ftyp":  # MP4, MOV, 3GP, M4V
        return ".mov" if head[8:10] == b"qt" else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: Matroska, WebM
        return ".webm" if b"webm" in head[:64] else ".mkv"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return ".avi"
    if head.startswith((b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):  # MPEG program stream / video
        return ".mpg"
    if head.startswith(b"OggS"):
        return ".ogv"
    if head.startswith(b"FLV\x01"):
        return ".flv"
    if head.startswith(_ASF):  # ASF / WMV
        return ".wmv"
    if head.startswith(b"YUV4MPEG2"):
        return ".y4m"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47 and head[:3] != b"GIF":  # MPEG-TS packets
        return ".ts"
    return None


def is_image_file(path: str | os.PathLike) -> bool:
    """An image by its suffix (hidden files, such as macOS ``._name.jpg`` companions, are not)."""
    path = Path(path)
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def is_video_file(path: str | os.PathLike) -> bool:
    """A video by its suffix or, whatever the suffix, by its container signature."""
    path = Path(path)
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            return sniff_video(f.read(SNIFF_BYTES)) is not None
    except OSError:
        return False
