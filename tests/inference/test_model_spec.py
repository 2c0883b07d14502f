"""Third-party ONNX classifiers described by a model spec run behind the face pipeline: small models built here
whose outputs are known in closed form check each spec key (crop, colour, layout, scale, mean/std, output)."""

from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from ferkit import EmotionRecognizer
from ferkit.errors import ModelError
from ferkit.faces.base import FaceDetector
from ferkit.faces.types import Detection
from ferkit.inference.model_spec import parse_spec


class ChannelMeans(nn.Module):
    """(B, C, H, W) or (B, H, W, C) -> the mean of each channel, plus a constant 0 column."""

    def __init__(self, nhwc: bool = False):
        super().__init__()
        self.nhwc = nhwc

    def forward(self, x):
        means = x.mean(dim=(1, 2)) if self.nhwc else x.mean(dim=(2, 3))
        return torch.cat([means, torch.zeros_like(means[:, :1])], 1)


class QuadrantMeans(nn.Module):
    """(B, H, W, C) -> the mean brightness of the top-left, top-right, bottom-left, bottom-right quadrants."""

    def forward(self, x):
        grey = x.mean(-1)
        h, w = grey.shape[1] // 2, grey.shape[2] // 2
        parts = [grey[:, :h, :w], grey[:, :h, w:], grey[:, h:, :w], grey[:, h:, w:]]
        return torch.stack([p.mean(dim=(1, 2)) for p in parts], 1)


def export(
    module: nn.Module,
    shape,
    path,
    batch_fixed: bool = False,
    metadata: dict | None = None,
):
    dynamic = None if batch_fixed else {"x": {0: "batch"}, "y": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter says it is legacy
        torch.onnx.export(
            module.eval(),
            (torch.zeros(*shape),),
            str(path),
            input_names=["x"],
            output_names=["y"],
            opset_version=17,
            dynamo=False,
            dynamic_axes=dynamic,
        )
    if metadata:
        import onnx

        proto = onnx.load(str(path))
        for k, v in metadata.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = k, v
        onnx.save(proto, str(path))
    return path


def write_spec(model_path, spec: dict):
    model_path.with_suffix(".json").write_text(json.dumps(spec))
    return str(model_path)


class FixedDetector(FaceDetector):
    """Returns the given detections, whatever the image."""

    name = "fixed"

    def __init__(self, detections):
        self.detections = detections

    def detect(self, image):
        return list(self.detections)


BOX_SPEC = {
    "labels": ["Angry", "happy", "Other", "Blank"],
    "input_size": [112, 112],
    "color": "rgb",
    "scale": 1 / 255,
    "mean": [0.5, 0.25, 0.0],
    "std": [0.5, 0.25, 1.0],
    "output": "logits",
    "crop": "box",
    "margin": 0.25,
}


def test_rgb_box_model_known_outputs(tmp_path):
    path = write_spec(export(ChannelMeans(), (1, 3, 112, 112), tmp_path / "box.onnx"), BOX_SPEC)
    rec = EmotionRecognizer(model=path, detector="none", tta="none")
    assert rec.labels == (
        "anger",
        "happiness",
        "Other",
        "Blank",
    )  # known names mapped, the others kept
    colour = np.array([200, 100, 40], np.float64)
    image = np.tile(colour.astype(np.uint8), (200, 200, 1))
    face = rec.predict(image)[0]
    logits = np.log(np.array(list(face.probabilities.values())))
    # the 200-px box made square with margin 0.25 is 250 px: the image covers (200/250)^2 of the crop, zeros the
    # rest; each channel's input is (pixel / 255 - mean) / std
    inside = (colour / 255 - BOX_SPEC["mean"]) / BOX_SPEC["std"]
    outside = (0 - np.array(BOX_SPEC["mean"])) / BOX_SPEC["std"]
    expected = np.append(0.64 * inside + 0.36 * outside, 0.0)
    assert np.allclose(logits - logits[-1], expected - expected[-1], atol=0.02)


def test_bgr_probabilities_output_and_temperature(tmp_path):
    class Softmaxed(nn.Module):
        def forward(self, x):
            return ChannelMeans()(x).softmax(-1)

    spec = {
        **BOX_SPEC,
        "color": "bgr",
        "output": "probabilities",
        "temperature": 2.0,
        "margin": 0.0,
        "mean": 0.0,
        "std": 1.0,
    }
    path = write_spec(export(Softmaxed(), (1, 3, 112, 112), tmp_path / "bgr.onnx"), spec)
    rec = EmotionRecognizer(model=path, detector="none", tta="none")
    colour = np.array([200, 100, 40], np.float64)
    probs = np.array(list(rec.predict(np.tile(colour.astype(np.uint8), (64, 64, 1)))[0].probabilities.values()))
    logits = np.append(colour[::-1] / 255, 0.0)  # blue first
    expected = np.exp(logits / 2.0) / np.exp(logits / 2.0).sum()
    assert np.allclose(probs, expected, atol=1e-3)


def test_nhwc_template_model_puts_the_landmarks_where_the_template_says(tmp_path):
    spec = {
        "labels": ["a", "b", "c", "d"],
        "input_size": [112, 112],
        "color": "rgb",
        "layout": "nhwc",
        "crop": "template",
        "template": {
            "right_eye": [38.0, 51.0],
            "left_eye": [74.0, 51.0],
            "nose": [56.0, 71.0],
            "mouth": [56.0, 92.0],
        },
    }
    path = write_spec(export(QuadrantMeans(), (1, 112, 112, 3), tmp_path / "nhwc.onnx"), spec)
    # a face whose landmarks sit at the template's positions scaled x2 and shifted by (100, 50): the crop is
    # that region shrunk by 2; a white square painted where the crop's top-left quadrant lands
    lm = np.array([[38, 51], [74, 51], [56, 71], [56, 92]], np.float32) * 2 + [100, 50]
    image = np.zeros((400, 400, 3), np.uint8)
    image[50 : 50 + 112, 100 : 100 + 112] = 255  # crop pixels [0, 56) x [0, 56)
    det = Detection(box=np.array([100, 50, 324, 274], np.float32), score=1.0, landmarks=lm)
    rec = EmotionRecognizer(model=path, detector=FixedDetector([det]), tta="none")
    probs = np.array(list(rec.predict(image)[0].probabilities.values()))
    expected = np.exp([1.0, 0.0, 0.0, 0.0]) / np.exp([1.0, 0.0, 0.0, 0.0]).sum()  # white top-left quadrant
    assert np.allclose(probs, expected, atol=0.01)
    mirrored = EmotionRecognizer(model=path, detector=FixedDetector([det]), tta="flip").predict(image)[0]
    seen_mirrored = np.exp([0.0, 1.0, 0.0, 0.0]) / np.exp([0.0, 1.0, 0.0, 0.0]).sum()  # white top-right
    expected = (expected + seen_mirrored) / 2  # the mean of both views' probabilities
    assert np.allclose(list(mirrored.probabilities.values()), expected, atol=0.01)


def test_fixed_batch_model_runs_faces_one_at_a_time(tmp_path):
    free = write_spec(export(ChannelMeans(), (1, 3, 112, 112), tmp_path / "free.onnx"), BOX_SPEC)
    fixed = write_spec(
        export(ChannelMeans(), (1, 3, 112, 112), tmp_path / "fixed.onnx", batch_fixed=True),
        BOX_SPEC,
    )
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    dets = [
        Detection(box=np.array(b, np.float32), score=0.9)
        for b in ([10, 10, 90, 90], [150, 40, 260, 150], [300, 200, 380, 290])
    ]
    a = EmotionRecognizer(model=free, detector=FixedDetector(dets)).predict(image)
    b = EmotionRecognizer(model=fixed, detector=FixedDetector(dets)).predict(image)
    assert len(a) == len(b) == 3
    for x, y in zip(a, b):
        assert np.allclose(list(x.probabilities.values()), list(y.probabilities.values()), atol=1e-5)


def test_ferkit_export_carries_a_spec_that_reproduces_it(model_ref, samples_dir, tmp_path):
    from ferkit.export import export_onnx

    native = export_onnx(model_ref, tmp_path / "native.onnx")
    import onnx

    spec = json.loads({p.key: p.value for p in onnx.load(str(native)).metadata_props}["model_spec"])
    by_spec = tmp_path / "by_spec.onnx"
    shutil.copy(native, by_spec)
    write_spec(by_spec, spec)  # the JSON beside wins over ferkit's own metadata
    image = samples_dir / "images" / "group.jpeg"
    a = EmotionRecognizer(model=str(native), threads=1).predict(image)
    b = EmotionRecognizer(model=str(by_spec), threads=1).predict(image)
    assert type(EmotionRecognizer(model=str(by_spec)).classifier).__name__ == "SpecClassifier"
    assert len(a) == len(b) >= 5
    for x, y in zip(a, b):
        assert np.allclose(list(x.probabilities.values()), list(y.probabilities.values()), atol=1e-4)


@pytest.mark.parametrize(
    "change, key",
    [
        ({"colour": "rgb"}, "colour"),
        ({"labels": None}, "labels"),
        ({"color": "cmyk"}, "color"),
        ({"layout": "chw"}, "layout"),
        ({"crop": "aligned", "input_size": [112, 112]}, "margin"),
        ({"crop": "template"}, "template"),
        ({"std": [1.0, 0.0, 1.0]}, "std"),
        ({"mean": [0.5, 0.5]}, "mean"),
        ({"input_size": [96, 96]}, "input_size"),
        ({"color": "grey", "mean": 0.0, "std": 1.0}, "color"),
        ({"labels": ["a", "b"]}, "labels"),
    ],
)
def test_bad_spec_is_one_line_naming_the_key(tmp_path, change, key):
    spec = {k: v for k, v in {**BOX_SPEC, **change}.items() if v is not None}
    path = write_spec(export(ChannelMeans(), (1, 3, 112, 112), tmp_path / "m.onnx"), spec)
    with pytest.raises(ModelError, match=repr(key)) as info:
        EmotionRecognizer(model=path, detector="none").predict(np.zeros((64, 64, 3), np.uint8))
    assert "\n" not in str(info.value)


def test_onnx_without_spec_says_what_to_add(tmp_path):
    path = export(ChannelMeans(), (1, 3, 112, 112), tmp_path / "bare.onnx")
    with pytest.raises(ModelError, match="bare.json"):
        EmotionRecognizer(model=str(path))


def test_spec_in_metadata(tmp_path):
    path = export(
        ChannelMeans(),
        (1, 3, 112, 112),
        tmp_path / "meta.onnx",
        metadata={"model_spec": json.dumps(BOX_SPEC)},
    )
    assert EmotionRecognizer(model=str(path), detector="none").labels[:2] == (
        "anger",
        "happiness",
    )


def test_parse_spec_defaults():
    spec = parse_spec({"labels": ["fearful", "x"], "input_size": 64, "color": "grey", "crop": "box"})
    assert spec.labels == ("fear", "x") and spec.input_size == (64, 64) and spec.mean == [0.0] and spec.std == [1.0]
