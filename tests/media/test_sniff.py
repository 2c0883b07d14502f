"""One table of suffixes and one set of content signatures, shared by the CLI, the batch runner, the dataset
readers and the web uploads."""

from __future__ import annotations

import pytest

from ferkit.media.sniff import IMAGE_FORMATS, is_image_file, is_video_file, sniff_image, sniff_video

HEADS = {
    ".mp4": b"\x00\x00\x00\x18ftypisom" + bytes(200),
    ".mov": b"\x00\x00\x00\x14ftypqt  " + bytes(200),
    ".webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm" + bytes(200),
    ".mkv": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01matroska" + bytes(200),
    ".avi": b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(200),
    ".mpg": b"\x00\x00\x01\xba" + bytes(200),
    ".ogv": b"OggS\x00\x02" + bytes(200),
    ".flv": b"FLV\x01\x05" + bytes(200),
    ".wmv": bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c") + bytes(200),
    ".y4m": b"YUV4MPEG2 W48 H48" + bytes(200),
    ".ts": b"\x47" + bytes(187) + b"\x47" + bytes(100),
}


@pytest.mark.parametrize("suffix", sorted(HEADS))
def test_every_container_is_known_by_its_first_bytes(suffix, tmp_path):
    assert sniff_video(HEADS[suffix]) == suffix
    unnamed = tmp_path / "clip.bin"  # whatever the file is called
    unnamed.write_bytes(HEADS[suffix])
    assert is_video_file(unnamed)


def test_images_and_text_are_not_videos(tmp_path):
    gif = b"GIF89a" + bytes(182) + b"\x47" + bytes(50)  # byte 188 happens to look like an MPEG-TS sync byte
    assert sniff_video(gif) is None and sniff_image(gif) == "GIF"
    assert sniff_video(b"\xff\xd8\xff\xe0" + bytes(300)) is None
    assert sniff_video(b"just some text, not a video at all" * 10) is None
    (tmp_path / "notes.txt").write_text("hello")
    assert not is_video_file(tmp_path / "notes.txt") and not is_video_file(tmp_path / "missing.bin")


def test_image_formats_by_content():
    heads = {
        "JPEG": b"\xff\xd8\xff\xe0",
        "PNG": b"\x89PNG\r\n\x1a\n",
        "GIF": b"GIF87a",
        "BMP": b"BM\x00\x00",
        "TIFF": b"II*\x00",
        "WEBP": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    }
    assert sorted(heads) == sorted(IMAGE_FORMATS)
    for fmt, head in heads.items():
        assert sniff_image(head + bytes(32)) == fmt
    assert sniff_image(b"#!/bin/sh\necho hi\n") is None


def test_image_files_by_suffix_hidden_files_excluded():
    assert is_image_file("a/face.JPG") and is_image_file("face.pgm")
    assert not is_image_file("a/._face.jpg")  # macOS companion files hold no image
    assert not is_image_file("clip.mp4") and not is_image_file("README")
