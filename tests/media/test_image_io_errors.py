"""The Python API names what is wrong with a bad input: a folder or FIFO (not "no such file"), an image over
ferkit's pixel limit (ferkit's limit, not Pillow's), NaN or wrongly typed arrays (not a silent 0 faces)."""

import os
import struct
import zlib

import numpy as np
import pytest

from ferkit.errors import InputError
from ferkit.media.images import MAX_PIXELS, as_rgb, load_image
from ferkit.media.video import VideoSource


def huge_png(width: int, height: int) -> bytes:
    """A PNG whose header announces width x height pixels (the pixel data is a few bytes: never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def test_folder_and_fifo_paths_say_what_they_are(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        load_image(tmp_path)
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="FIFO"):
        load_image(fifo)
    with pytest.raises(InputError, match="FIFO"):
        VideoSource(fifo)
    with pytest.raises(InputError, match="is a folder"):
        VideoSource(tmp_path)
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "missing.jpg")
    with pytest.raises(InputError, match="broken symbolic link"):
        load_image(link)
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "missing.jpg")


@pytest.mark.parametrize("pixels", [100_000_000, 200_000_000])  # Pillow's warning and its error
def test_decompression_bomb_quotes_ferkits_limit(tmp_path, pixels):
    path = tmp_path / "bomb.png"
    path.write_bytes(huge_png(10_000, pixels // 10_000))
    with pytest.raises(InputError) as e:
        load_image(path)
    assert f"limit of {MAX_PIXELS} pixels" in str(e.value) and str(pixels) in str(e.value)
    assert "89478485" not in str(e.value) and "DOS" not in str(e.value)


def test_bad_arrays_are_clear_errors():
    nan = np.full((40, 40, 3), 0.5, np.float32)
    nan[3, 3, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        as_rgb(nan)
    with pytest.raises(InputError, match="NaN or infinite"):
        as_rgb(np.full((8, 8), np.inf))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        as_rgb(np.full((8, 8, 3), 200.0))  # 0-255 floats would otherwise all saturate to white
    with pytest.raises(InputError, match="0..255"):
        as_rgb(np.full((8, 8, 3), 300, np.int32))
    with pytest.raises(InputError, match="unsupported image dtype bool"):
        as_rgb(np.ones((8, 8, 3), bool))
    assert as_rgb(np.full((8, 8, 3), 7, np.int64))[0, 0].tolist() == [7, 7, 7]


def test_recognizer_rejects_a_nan_array(recognizer_for_errors):
    with pytest.raises(InputError, match="NaN"):
        recognizer_for_errors.predict(np.full((64, 64, 3), np.nan, np.float32))


@pytest.fixture(scope="module")
def recognizer_for_errors(untrained_fer2013_model):
    from ferkit import EmotionRecognizer

    return EmotionRecognizer(model=str(untrained_fer2013_model), detector="haar", threads=1)
