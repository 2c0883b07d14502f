"""int8 quantisation of the exported classifier: `ferkit export --quantize int8`, used by the recogniser."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.cli.main import main


@pytest.mark.slow
def test_int8_export_runs_as_the_recognizer_classifier(data_root, samples_dir, tmp_path, capsys):
    from ferkit import EmotionRecognizer, pretrained
    from ferkit.data.loaders_fer import load_ferplus
    from ferkit.inference.classifier import load_classifier

    if "ferplus" not in pretrained.available():
        pytest.skip("the shipped ferplus model is not installed")
    path = tmp_path / "ferplus_int8.onnx"
    assert (
        main(
            ["export", "--model", "ferplus", "--quantize", "int8", "--calibration-images", "128", "--output", str(path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "int8" in out and "agree on" in out
    float_cls, int8_cls = load_classifier("ferplus", runtime="onnx", threads=1), load_classifier(path, threads=1)
    assert int8_cls.labels == float_cls.labels and path.stat().st_size < 0.4 * 6.0e6
    test = load_ferplus("PublicTest", data_root=data_root, progress=False)
    crops = np.asarray(test.images[:400])
    a, b = float_cls.forward(crops)[0].argmax(1), int8_cls.forward(crops)[0].argmax(1)
    assert np.mean(a == b) >= 0.95
    assert abs(np.mean(a == test.targets[:400]) - np.mean(b == test.targets[:400])) <= 0.02
    # an .onnx path is a classifier like any other, feature-level smoothing included (the head stays float)
    rec = EmotionRecognizer(model=str(path), smoothing="feature-ema", threads=1)
    faces = rec.predict(samples_dir / "images" / "group.jpeg")
    assert len(faces) >= 4 and all(abs(sum(f.probabilities.values()) - 1) < 1e-4 for f in faces)
    assert rec.classifier.head(np.zeros((1, int8_cls.forward(crops[:1])[1].shape[1]), np.float32)).shape == (1, 8)
