import json

import numpy as np
import onnx
import onnxruntime as ort
import torch

from ferkit import pretrained
from ferkit.cli.main import main
from ferkit.export import export_onnx, read_onnx_metadata
from ferkit.inference.classifier import OnnxClassifier, TorchClassifier


def test_export_metadata_and_agreement(model_ref, tmp_path):
    loaded = pretrained.load(model_ref)
    path = export_onnx(loaded, tmp_path / "m.onnx")
    assert not loaded.model.training  # exporting must not leave the model in training mode
    meta = read_onnx_metadata(path)
    assert meta["labels"] == loaded.labels and meta["preprocess"] == loaded.preprocess.to_dict()
    assert meta["arch"] == loaded.arch
    proto = onnx.load(str(path))
    assert json.loads({p.key: p.value for p in proto.metadata_props}["labels"]) == list(loaded.labels)
    pre = loaded.preprocess
    x = torch.randn(5, pre.in_chans, pre.input_size, pre.input_size)  # dynamic batch
    with torch.inference_mode():
        expected = loaded.model(x).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["logits"], {"input": x.numpy()})[0]
    assert np.abs(got - expected).max() < 1e-4


def test_onnx_classifier_matches_torch_on_crops(model_ref, tmp_path):
    path = export_onnx(model_ref, tmp_path / "m.onnx")
    crops = np.random.default_rng(0).integers(0, 255, (3, 48, 48), dtype=np.uint8)
    t_logits, t_feat = TorchClassifier(pretrained.load(model_ref)).forward(crops)
    onnx_cls = OnnxClassifier(path, threads=1)
    o_logits, o_feat = onnx_cls.forward(crops)
    assert np.abs(t_logits - o_logits).max() < 1e-4 and np.abs(t_feat - o_feat).max() < 1e-4
    assert np.abs(onnx_cls.head(o_feat) - o_logits).max() < 1e-4  # head read back from the graph


def test_export_cli(model_ref, tmp_path, capsys):
    out = tmp_path / "cli.onnx"
    assert main(["export", "--model", model_ref, "--format", "onnx", "--output", str(out)]) == 0
    assert out.is_file() and "check: max" in capsys.readouterr().out


def test_recognizer_runs_exported_file(model_ref, tmp_path, samples_dir):
    from ferkit import EmotionRecognizer

    path = export_onnx(model_ref, tmp_path / "m.onnx")
    faces = EmotionRecognizer(model=str(path), runtime="onnx", threads=1).predict(samples_dir / "images" / "angry.jpg")
    assert len(faces) == 1 and tuple(faces[0].probabilities) == pretrained.load(model_ref).labels
