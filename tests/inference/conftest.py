"""The classifier used by inference tests: the shipped default when installed, else a tiny model made here."""
from __future__ import annotations

import pytest
import torch


def make_tiny_model(path):
    from ferkit.labels import FERPLUS_LABELS
    from ferkit.models import create_model
    from ferkit.models.checkpoint import save_model
    from ferkit.transforms.preprocess import Preprocess

    torch.manual_seed(0)
    model = create_model("ferresnet_s", num_classes=len(FERPLUS_LABELS))
    for m in model.modules():  # non-trivial statistics so outputs depend on the input
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
    model.eval()
    return save_model(path, model, FERPLUS_LABELS, Preprocess())


@pytest.fixture(scope="session")
def model_ref(tmp_path_factory) -> str:
    from ferkit import pretrained

    if pretrained.DEFAULT_MODEL in pretrained.available():
        return pretrained.DEFAULT_MODEL
    return str(make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.pt"))


@pytest.fixture(scope="session")
def recognizer(model_ref):
    from ferkit import EmotionRecognizer

    return EmotionRecognizer(model=model_ref, threads=1)


@pytest.fixture(scope="session")
def short_clip(samples_dir, tmp_path_factory):
    """The first 12 frames of video_01.mp4, re-encoded (keeps video tests fast)."""
    import cv2

    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    cap = cv2.VideoCapture(str(samples_dir / "video" / "video_01.mp4"))
    out = None
    for _ in range(12):
        ok, frame = cap.read()
        assert ok
        if out is None:
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (frame.shape[1], frame.shape[0]))
        out.write(frame)
    out.release()
    cap.release()
    return path
