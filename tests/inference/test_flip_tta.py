"""Flip test-time augmentation on still images: the default for predict, off for video streams."""

import json

import numpy as np
import pytest

from ferkit import EmotionRecognizer
from ferkit.errors import ConfigError
from ferkit.faces import load_image


def _probs(faces):
    return np.array([list(f.probabilities.values()) for f in faces])


def test_flip_is_the_mean_of_the_face_and_its_mirror(recognizer, samples_dir):
    rgb = load_image(samples_dir / "images" / "group.jpeg")
    dets = recognizer.detect(rgb)
    crops, _ = recognizer.align(rgb, dets)
    plain = recognizer.classifier.probabilities(recognizer.classify_crops(crops)[0])
    mirrored = recognizer.classifier.probabilities(recognizer.classify_crops(crops[:, :, ::-1].copy())[0])
    assert not np.allclose(plain, mirrored, atol=1e-4)  # the mirror really is another view
    flip = _probs(recognizer.predict(rgb, tta="flip"))
    assert np.allclose(flip, (plain + mirrored) / 2, atol=1e-5)
    assert np.allclose(_probs(recognizer.predict(rgb, tta="none")), plain, atol=1e-5)


def test_flip_is_the_default_for_photos_and_can_be_turned_off(model_ref, recognizer, samples_dir):
    rgb = load_image(samples_dir / "images" / "meds-aa-S029-01.jpg")  # one face: the whole image, no detection
    assert recognizer.tta == "flip"
    default = _probs(recognizer.predict(rgb, detector="none"))
    assert len(default) == 1 and np.allclose(default, _probs(recognizer.predict(rgb, detector="none", tta="flip")))
    off = EmotionRecognizer(model=model_ref, threads=1, tta="none")
    plain = _probs(off.predict(rgb, detector="none"))
    assert np.allclose(plain, _probs(recognizer.predict(rgb, detector="none", tta="none")))
    assert not np.allclose(plain, default, atol=1e-4)  # flipping changes this face's answer: the default shows


def test_streams_do_not_flip(recognizer, samples_dir):
    # the same face in both (the whole image: streams and photos run different detection designs)
    rgb = load_image(samples_dir / "images" / "meds-aa-S029-01.jpg")
    streamed = recognizer.stream(detector="none").step(rgb).faces
    raw = np.array([list(f.raw_probabilities.values()) for f in streamed])
    plain = _probs(recognizer.predict(rgb, detector="none", tta="none"))
    flipped = _probs(recognizer.predict(rgb, detector="none", tta="flip"))
    assert len(raw) == len(plain) == 1 and np.allclose(raw, plain, atol=1e-5)
    assert not np.allclose(raw, flipped, atol=1e-4)


@pytest.mark.parametrize("bad", ["tencrop", "", None])
def test_unknown_tta_is_an_error_naming_it(model_ref, recognizer, bad):
    with pytest.raises(ConfigError, match="tta"):
        EmotionRecognizer(model=model_ref, tta=bad)
    if bad is not None:
        with pytest.raises(ConfigError, match="tta"):
            recognizer.predict(np.zeros((64, 64, 3), np.uint8), tta=bad)


def test_cli_predict_tta_flag(model_ref, samples_dir, tmp_path):
    from ferkit.cli.main import main

    src = samples_dir / "images" / "group.jpeg"
    docs = {}
    for mode in ("flip", "none"):
        out = tmp_path / f"{mode}.json"
        assert (
            main(
                [
                    "predict",
                    str(src),
                    "--model",
                    model_ref,
                    "--json",
                    str(out),
                    "--threads",
                    "1",
                    "--tta",
                    mode,
                    "--quiet",
                ]
            )
            == 0
        )
        docs[mode] = json.loads(out.read_text())["images"][0]["faces"]
    default = tmp_path / "default.json"
    assert (
        main(
            [
                "predict",
                str(src),
                "--model",
                model_ref,
                "--json",
                str(default),
                "--threads",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads(default.read_text())["images"][0]["faces"] == docs["flip"]
    assert len(docs["flip"]) == len(docs["none"])
    assert any(a["probabilities"] != b["probabilities"] for a, b in zip(docs["flip"], docs["none"]))


def test_serve_has_the_tta_option():
    import argparse

    from ferkit.cli import cmd_serve

    parser = argparse.ArgumentParser()
    cmd_serve.add_parser(parser.add_subparsers())
    assert parser.parse_args(["serve"]).tta == "flip"
    assert parser.parse_args(["serve", "--tta", "none"]).tta == "none"
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--tta", "tencrop"])
