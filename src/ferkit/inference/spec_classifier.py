"""A third-party ONNX classifier described by a model spec (:mod:`ferkit.inference.model_spec`), behind the same
interface as ferkit's own classifiers: ``framing`` says how faces are cropped, ``forward(crops)`` turns the
uint8 crops into the network's input as the spec says and returns logits, ``probabilities`` is the softmax."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ferkit.errors import ModelError
from ferkit.faces.framing import BoxFraming, FerFraming, TemplateFraming
from ferkit.inference.model_spec import ModelSpec
from ferkit.inference.probabilities import softmax
from ferkit.transforms.preprocess import Preprocess


def framing_of(spec: ModelSpec):
    """The crop geometry a spec asks for."""
    height, width = spec.input_size
    if spec.crop == "aligned":
        return FerFraming(spec.source_size or width)
    if spec.crop == "box":
        return BoxFraming(width, height, spec.margin)
    return TemplateFraming(width, height, spec.template, spec.margin)


class SpecClassifier:
    """ONNX Runtime on the CPU; faces go one at a time when the model's batch size is fixed at 1."""

    runtime = "onnx"

    def __init__(self, path: str | os.PathLike, spec: ModelSpec, session):
        self.path = Path(path)
        self.spec = spec
        self.session = session
        self.labels: tuple[str, ...] = spec.labels
        self.arch = spec.name
        self.temperature = float(spec.temperature)
        self.framing = framing_of(spec)
        height, width = spec.input_size
        # what the rest of ferkit reads (recogniser, web page info): crop side and channels
        source = spec.source_size if spec.crop == "aligned" else max(height, width)
        self.preprocess = Preprocess(
            source_size=source,
            input_size=width,
            in_chans=spec.channels,
            mean=spec.mean,
            std=spec.std,
            illumination=spec.illumination,
        )
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"{self.path}: the model takes {len(inputs)} inputs; a classifier takes one image batch")
        self._input = inputs[0].name
        self._check_input_shape(inputs[0].shape)
        batch = inputs[0].shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        if self.fixed_batch not in (None, 1):
            raise ModelError(
                f"{self.path}: the model's batch size is fixed at {batch}; ferkit runs models whose "
                "batch size is free or 1"
            )
        self._mean = np.asarray(spec.mean, np.float32)
        self._std = np.asarray(spec.std, np.float32)

    def _check_input_shape(self, shape) -> None:
        """The spec's input_size, color and layout must agree with the input the ONNX graph declares."""
        if len(shape) != 4:
            raise ModelError(
                f"{self.path}: model spec key 'layout': the model input has {len(shape)} dimensions, not 4"
            )
        h, w = self.spec.input_size
        want = (self.spec.channels, h, w) if self.spec.layout == "nchw" else (h, w, self.spec.channels)
        for key, have, expected in zip(
            ("color", "input_size", "input_size")
            if self.spec.layout == "nchw"
            else ("input_size", "input_size", "color"),
            shape[1:],
            want,
        ):
            if isinstance(have, int) and have > 0 and have != expected:
                raise ModelError(
                    f"{self.path}: model spec key {key!r} disagrees with the model input "
                    f"{list(shape)} (layout {self.spec.layout}, expected {list(want)})"
                )

    def _tensor(self, crops: np.ndarray) -> np.ndarray:
        """uint8 crops (N, H, W) grey or (N, H, W, 3) RGB -> the network's float input."""
        spec = self.spec
        h, w = spec.input_size
        # aligned: the FER framing at source_size, illumination, then the centre crop (ferkit's own order)
        th, tw = (spec.source_size, spec.source_size) if spec.crop == "aligned" else (h, w)
        if crops.shape[1:3] != (th, tw):
            crops = np.stack(
                [
                    cv2.resize(
                        np.ascontiguousarray(c),
                        (tw, th),
                        interpolation=cv2.INTER_AREA if c.shape[0] > th else cv2.INTER_LINEAR,
                    )
                    for c in crops
                ]
            )
        if spec.illumination != "none":
            from ferkit.transforms.illumination import normalise_illumination

            crops = normalise_illumination(crops, spec.illumination)
        if (th, tw) != (h, w):
            top, left = (th - h) // 2, (tw - w) // 2
            crops = crops[:, top : top + h, left : left + w]
        x = crops.astype(np.float32)
        if x.ndim == 3:
            x = x[..., None]
        if spec.channels == 1 and x.shape[-1] == 3:
            x = (x * np.array([0.299, 0.587, 0.114], np.float32)).sum(-1, keepdims=True)
        elif spec.channels == 3 and x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        if spec.color == "bgr":
            x = x[..., ::-1]
        x = (x * np.float32(spec.scale) - self._mean) / self._std
        if spec.layout == "nchw":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, np.float32)

    def _run(self, x: np.ndarray) -> np.ndarray:
        if self.fixed_batch == 1:
            return np.concatenate([self.session.run(None, {self._input: x[i : i + 1]})[0] for i in range(len(x))])
        return self.session.run(None, {self._input: x})[0]

    def forward(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(logits (N, L), empty features (N, 0)); a probabilities model's output becomes log-probabilities, so
        the one softmax gives them back (sharpened or softened by the temperature)."""
        n = len(crops)
        if n == 0:
            return np.zeros((0, len(self.labels)), np.float32), np.zeros((0, 0), np.float32)
        out = np.asarray(self._run(self._tensor(np.asarray(crops))), np.float32).reshape(n, -1)
        if out.shape[1] != len(self.labels):
            raise ModelError(
                f"{self.path}: model spec key 'labels' names {len(self.labels)} classes, the model "
                f"outputs {out.shape[1]}"
            )
        if self.spec.output == "probabilities":
            out = np.log(np.clip(out, 1e-12, None))
        return out, np.zeros((n, 0), np.float32)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        return softmax(logits, self.temperature)

    def head(self, features: np.ndarray) -> np.ndarray:
        raise ModelError(
            f"{self.path}: a model described by a spec gives no features; use smoothing 'ema' or "
            "'mean' (probability level)"
        )

    def whole_image_logits(self, crops: np.ndarray) -> np.ndarray:
        """Logits for images that are face crops already (dataset images): each image's full box framed as the
        spec says (``detector="none"`` in the pipeline)."""
        from ferkit.faces.framing import crop_faces
        from ferkit.faces.types import Detection

        out = []
        for image in np.asarray(crops):
            h, w = image.shape[:2]
            det = Detection(box=np.array([0, 0, w, h], np.float32), score=1.0)
            crop, _ = crop_faces(image, [det], self.framing)
            out.append(self.forward(crop)[0])
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)


def load_spec_classifier(path: str | os.PathLike, spec: ModelSpec, threads: int | None = None) -> SpecClassifier:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types for bad files
        raise ModelError(f"{path}: not a readable ONNX model ({e})") from None
    return SpecClassifier(path, spec, session)


def spec_loaded_model(classifier: SpecClassifier):
    """A LoadedModel for `ferkit evaluate`: the dataset's face crops (read at ``preprocess.source_size``, scaled
    to [0, 1], no normalisation) go through the spec's own framing of the whole image and input conversion."""
    import torch
    from torch import nn

    from ferkit.models.checkpoint import LoadedModel

    class SpecLogits(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            crops = (x.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)
            crops = crops[:, 0].numpy() if crops.shape[1] == 1 else crops.permute(0, 2, 3, 1).numpy()
            return torch.from_numpy(classifier.whole_image_logits(crops)).to(x.device)

    c = classifier.spec.channels
    size = int(classifier.preprocess.source_size)
    pre = Preprocess(source_size=size, input_size=size, in_chans=c, mean=[0.0] * c, std=[1.0] * c)
    return LoadedModel(
        model=SpecLogits().eval(),
        labels=classifier.labels,
        preprocess=pre,
        arch=classifier.arch,
        meta={"format": "onnx+spec", "path": str(classifier.path)},
        temperature=classifier.temperature,
    )
