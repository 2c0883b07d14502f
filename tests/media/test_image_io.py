import numpy as np
import pytest
from PIL import Image

from ferkit.errors import InputError
from ferkit.media.images import as_rgb, load_image


def test_samples_load_as_rgb_uint8(samples_dir):
    for path in sorted((samples_dir / "images").iterdir()):
        img = load_image(path)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, path.name


def test_exif_orientation_is_applied(samples_dir):
    rotated = load_image(samples_dir / "images" / "meds-aa-S001-01-exif-rotation.jpg")
    upright = load_image(samples_dir / "images" / "meds-aa-S001-01.jpg")
    assert rotated.shape == upright.shape  # raw pixels are 600 wide; EXIF orientation 5 makes it 480 wide
    assert np.abs(rotated.astype(int) - upright.astype(int)).mean() < 10


def test_rgba_is_composited(samples_dir):
    img = load_image(samples_dir / "images" / "person_cropped_2.png")
    assert img.shape[2] == 3


@pytest.mark.parametrize("mode", ["L", "I;16", "CMYK", "P", "LA", "RGBA"])
def test_modes(tmp_path, mode):
    rng = np.random.default_rng(0)
    base = Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
    if mode == "I;16":
        im = Image.fromarray((rng.integers(0, 65535, (20, 30))).astype(np.uint16))
        path = tmp_path / "x.png"
    else:
        im = base.convert(mode)
        path = tmp_path / ("x.jpg" if mode in ("L", "CMYK") else "x.png")
    im.save(path)
    out = load_image(path)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8


def test_broken_files_raise_input_error_naming_file(tmp_path, samples_dir):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("this is not an image\n")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes((samples_dir / "images" / "angry.jpg").read_bytes()[:5000])
    for path in (empty, text, truncated, tmp_path / "missing.png"):
        with pytest.raises(InputError, match=path.name):
            load_image(path)


def test_pixel_limit(samples_dir):
    with pytest.raises(InputError, match="exceeds"):
        load_image(samples_dir / "images" / "angry.jpg", max_pixels=1_000_000)


def test_as_rgb_arrays():
    assert as_rgb(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    assert as_rgb(np.ones((5, 6, 4), np.uint8) * 255)[0, 0].tolist() == [255, 255, 255]
    assert as_rgb(np.full((5, 6, 3), 0.5, np.float32))[0, 0, 0] == 128
    with pytest.raises(InputError):
        as_rgb(np.zeros((5, 6, 2), np.uint8))
    with pytest.raises(InputError):
        as_rgb(42)
