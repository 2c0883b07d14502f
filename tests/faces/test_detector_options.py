"""create_detector checks its arguments: unknown names are TypeErrors, bad values ValueErrors, both naming the
argument; ``auto`` falls back to Haar only when BlazeFace's weights or runtime are missing."""

import pytest

from ferkit.errors import DetectorOptionError, ModelError
from ferkit.faces import blazeface, create_detector
from ferkit.faces.auto import AutoDetector
from ferkit.faces.haar import HaarDetector


@pytest.mark.parametrize(
    "name, options, error, named",
    [
        ("auto", {"pad": 0.5}, ValueError, "pad"),
        ("auto", {"pad": "2"}, TypeError, "pad"),
        ("auto", {"small_input": 100}, ValueError, "small_input"),
        ("auto", {"padding": 2.0}, TypeError, "padding"),
        ("auto", {"min_score": 1.5}, ValueError, "min_score"),
        ("blazeface", {"input_size": 100}, ValueError, "input_size"),
        ("blazeface", {"variant": "short"}, TypeError, "variant"),
        ("blazeface_short", {"backend": "tensorflow"}, ValueError, "backend"),
        ("blazeface_short", {"threads": -1}, ValueError, "threads"),
        ("haar", {"scale_factor": 1.0}, ValueError, "scale_factor"),
        ("haar", {"threads": 1}, TypeError, "threads"),
        ("none", {"threads": 1}, TypeError, "threads"),
        ("yunet", {"max_upscale": 8}, ValueError, "max_upscale"),
        ("auto", {"close_side": -1}, ValueError, "close_side"),
        ("auto", {"max_pixels": -5}, ValueError, "max_pixels"),
        ("yunet", {"max_pixels": 1.5}, TypeError, "max_pixels"),
    ],
)
def test_bad_arguments_are_errors_naming_them(name, options, error, named):
    with pytest.raises(error, match=named):
        create_detector(name, **options)


def test_value_errors_are_one_line_ferkit_errors():
    with pytest.raises(DetectorOptionError) as info:
        create_detector("auto", pad=0.5)
    assert isinstance(info.value, ModelError) and "\n" not in str(info.value)


def test_instance_with_arguments_is_an_error():
    with pytest.raises(TypeError, match="threads"):
        create_detector(HaarDetector(), threads=1)


def test_good_arguments_build_the_detector():
    assert isinstance(create_detector("auto", pad=3.0, threads=1), AutoDetector)


def test_auto_falls_back_to_haar_only_when_weights_are_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(blazeface, "ASSETS", tmp_path)  # no weights there
    assert isinstance(create_detector("auto"), HaarDetector)
    with pytest.raises(ValueError, match="pad"):
        create_detector("auto", pad=0.5)
