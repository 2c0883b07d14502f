"""One image decoder for paths, bytes and PIL images; the dataset readers and the web wrap its errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ferkit.data.imageio import read_image
from ferkit.errors import DatasetError, InputError, MediaError
from ferkit.media.images import decode_image


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def test_path_bytes_and_pil_decode_identically(tmp_path):
    rgba = np.zeros((6, 8, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :4, 3] = 255  # left half opaque red, right half transparent
    im = Image.fromarray(rgba, "RGBA")
    path = tmp_path / "a.png"
    im.save(path)
    a, b, c = decode_image(path), decode_image(_png(im)), decode_image(im)
    assert a.shape == (6, 8, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert tuple(a[0, 0]) == (200, 0, 0) and tuple(a[0, 7]) == (255, 255, 255)  # alpha composited on white
    grey = read_image(path, "L")  # the dataset readers agree
    assert grey.shape == (6, 8) and grey[0, 7] == 255


def test_sixteen_bit_is_scaled_not_clipped(tmp_path):
    arr = np.full((4, 4), 65535, np.uint16)
    arr[0, 0] = 0
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    rgb = decode_image(path)
    assert rgb[1, 1].tolist() == [255, 255, 255] and rgb[0, 0].tolist() == [0, 0, 0]


def test_errors_are_one_type_with_a_reason(tmp_path):
    with pytest.raises(MediaError) as e:
        decode_image(b"")
    assert e.value.reason == "empty"
    with pytest.raises(MediaError) as e:
        decode_image(_png(Image.new("RGB", (100, 100))), max_pixels=50 * 50)
    assert e.value.reason == "too_large" and "over the limit" in str(e.value)
    png = _png(Image.new("RGB", (64, 64), (9, 9, 9)))
    with pytest.raises(MediaError) as e:
        decode_image(png[: len(png) // 2], formats=["PNG"])
    assert e.value.reason == "corrupt" and isinstance(e.value, InputError)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="bad.png: cannot decode image"):  # data wraps the decoder's error
        read_image(bad)
