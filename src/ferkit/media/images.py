"""Reading images: every input (a path, encoded bytes, a PIL image or an array) becomes an RGB uint8 array here,
once, with EXIF orientation applied; whatever cannot be read raises MediaError naming it."""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ferkit.errors import InputError, MediaError

# Bounded memory: an RGB image of this many pixels takes ~150 MB. Larger files are refused before decoding.
MAX_PIXELS = 50_000_000


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read an image file as an (H, W, 3) RGB uint8 array, EXIF-rotated; grey, palette, RGBA, 16-bit and CMYK
    inputs are converted. Raises MediaError naming the file for missing, empty, corrupt or huge files."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(not_a_file(path, "an image"), "missing")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file (0 bytes)", "empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.width * im.height > max_pixels:
                    raise MediaError(
                        f"{path}: image of {im.width}x{im.height} pixels exceeds the limit of {max_pixels} pixels",
                        "too_large",
                    )
                im.load()
                return pil_to_rgb(im)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaError(f"{path}: {bomb_message(e, max_pixels)}", "too_large") from None
    except UnidentifiedImageError as e:
        raise MediaError(f"{path}: not a readable image ({type(e).__name__}: {e})", "unsupported") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated / corrupt data
        raise MediaError(f"{path}: corrupt or truncated image ({e})", "corrupt") from None


def bomb_message(error: Exception, max_pixels: int) -> str:
    """Pillow's decompression-bomb refusal, told with ferkit's own limit (Pillow's is higher and not ours)."""
    found = re.search(r"\((\d+) pixels\)", str(error))
    size = f"image of {int(found.group(1))} pixels" if found else "image"
    text = f"{size} exceeds the limit of {max_pixels} pixels"
    if found and int(found.group(1)) <= max_pixels:  # only when the limit was raised above Pillow's own
        text = f"{size} exceeds Pillow's decompression-bomb limit of {Image.MAX_IMAGE_PIXELS} pixels"
    return text


def not_a_file(path: Path, what: str) -> str:
    """Why ``path`` cannot be read as {what} file: missing, a broken link, a folder, a FIFO or device."""
    from ferkit.io_utils import special_kind

    if path.is_symlink() and not path.exists():
        return f"{path}: broken symbolic link (its target {os.readlink(path)} does not exist)"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"{path}: no such file"
    except OSError as e:
        return f"{path}: cannot read ({e.strerror or e})"
    kind = special_kind(mode) or "not a regular file"
    if kind == "a folder":
        return f"{path}: is a folder, not {what} file (`ferkit predict` reads folders)"
    return f"{path}: is {kind}, not {what} file"


def pil_to_rgb(im: Image.Image) -> np.ndarray:
    """PIL image of any mode -> RGB uint8, EXIF orientation applied; alpha is composited on white."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        peak = 65535.0 if a.max() > 255 else 255.0
        grey = np.clip(a / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if im.mode == "F":
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        grey = ((a - lo) / (hi - lo or 1.0) * 255.0 + 0.5).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA"):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, im)
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def as_rgb(image, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Public-API input (path, PIL image or array) -> RGB uint8 (H, W, 3). Arrays must be RGB (or grey/RGBA);
    float arrays in [0, 1] and 16-bit arrays are rescaled."""
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, max_pixels)
    if isinstance(image, Image.Image):
        return pil_to_rgb(image)
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a path, PIL image or numpy array, got {type(image).__name__}")
    a = image
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise InputError(f"expected an (H, W), (H, W, 3) or (H, W, 4) image array, got shape {image.shape}")
    if a.dtype == np.uint16:
        a = (a.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif a.dtype.kind == "f":
        if not np.isfinite(a).all():  # NaN would silently become black pixels and no faces
            raise InputError(f"image array contains {np.isnan(a).sum() + np.isinf(a).sum()} NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise InputError(
                f"float image arrays must hold values in [0, 1], got {lo:g}..{hi:g} (for 0-255 "
                "values use .astype(np.uint8))"
            )
        a = (np.clip(a, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif a.dtype.kind in "iu" and a.dtype != np.uint8:
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 255:
            raise InputError(
                f"{a.dtype} image array holds values {lo}..{hi}; expected 0..255 (uint8), uint16, or floats in [0, 1]"
            )
        a = a.astype(np.uint8)
    elif a.dtype != np.uint8:
        raise InputError(f"unsupported image dtype {a.dtype}: give uint8 (0..255), uint16, or floats in [0, 1]")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    elif a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float32) / 255.0
        a = (a[:, :, :3] * alpha + 255.0 * (1.0 - alpha) + 0.5).astype(np.uint8)
    return np.ascontiguousarray(a)


def decode_image(
    source, max_pixels: int = MAX_PIXELS, what: str | None = None, formats: list[str] | None = None
) -> np.ndarray:
    """ferkit's one image decoder: a path, encoded bytes or a PIL image -> RGB uint8 (H, W, 3).

    EXIF orientation applied, alpha composited on white, 16-bit and float greys scaled (``pil_to_rgb``); more
    than ``max_pixels`` pixels are refused from the header, before decoding. Paths go through ``load_image``
    (MediaError naming the file); bytes raise MediaError naming ``what``. ``formats``: the Pillow formats to try
    for bytes (None: any)."""
    if isinstance(source, Image.Image):
        return pil_to_rgb(source)
    if isinstance(source, (str, os.PathLike)):
        return load_image(source, max_pixels)
    what = what or "image data"
    data = bytes(source)
    if not data:
        raise MediaError(f"{what} is empty (0 bytes)", "empty")
    kind = formats[0] if formats and len(formats) == 1 else "image"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise MediaError(
                        f"{what} is {width}x{height} = {width * height} pixels, over the limit of {max_pixels} pixels",
                        "too_large",
                    )
                if width == 0 or height == 0:
                    raise MediaError(f"{what} has no pixels ({width}x{height})", "corrupt")
                im.load()
                return pil_to_rgb(im)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise MediaError(f"{what}: {bomb_message(e, max_pixels)}", "too_large") from None
    except UnidentifiedImageError:
        message = f"{what} starts like {kind} but cannot be decoded" if formats else f"{what} is not a readable image"
        raise MediaError(message, "unsupported" if not formats else "corrupt") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise MediaError(f"{what} is a truncated or corrupt {kind} image ({e})", "corrupt") from None
