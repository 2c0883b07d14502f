"""Model files and training checkpoints as plain dicts (quick lane): what a payload holds, what loading gives
back, the stored calibration temperature, and the one-line errors for files that are not what they claim."""

from __future__ import annotations

import math
import re

import pytest
import torch

from ferkit.errors import ModelError
from ferkit.models import create_model
from ferkit.models.checkpoint import (
    LoadedModel,
    load_model,
    model_payload,
    read_file,
    save_model,
    temperature_of,
    write_calibration,
)
from ferkit.training.checkpoints import RESUME_KEYS, read_last
from ferkit.transforms.preprocess import Preprocess

LABELS = ("neutral", "happiness", "surprise")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("mobilenet_v1_025", num_classes=len(LABELS), in_chans=3)


# ----- temperature -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload, t",
    [
        ({}, 1.0),
        ({"calibration": None}, 1.0),
        ({"calibration": {}}, 1.0),
        ({"calibration": {"temperature": 2.5}}, 2.5),
        ({"calibration": {"temperature": "0.5"}}, 0.5),
    ],
)
def test_temperature_of_reads_the_stored_value(payload, t):
    assert temperature_of(payload) == t


@pytest.mark.parametrize(
    "value, message",
    [
        ("warm", "is not a number"),
        ([1], "is not a number"),
        (0.0, "positive finite"),
        (-1.0, "positive finite"),
        (math.inf, "positive finite"),
        (math.nan, "positive finite"),
    ],
)
def test_bad_temperatures_name_the_file(value, message):
    with pytest.raises(ModelError, match=message) as e:
        temperature_of({"calibration": {"temperature": value}}, "m.pt")
    assert str(e.value).startswith("m.pt: calibration temperature")
    with pytest.raises(ModelError, match="model: calibration temperature"):
        temperature_of({"calibration": {"temperature": value}})
    with pytest.raises(ModelError, match="is not a number"):
        temperature_of({"calibration": ["not", "a", "dict"]})


# ----- payloads and model files ----------------------------------------------------------------------------------
def test_model_payload_is_a_plain_dict_of_everything_needed(tiny):
    pre = Preprocess(in_chans=3)
    payload = model_payload(tiny, list(LABELS), pre, epoch=4)
    assert payload["format"] == "ferkit-model-v1" and payload["arch"] == "mobilenet_v1_025"
    assert payload["arch_kwargs"] == {} and payload["labels"] == list(LABELS) and payload["epoch"] == 4
    assert payload["preprocess"] == pre.to_dict()
    state = tiny.state_dict()
    assert payload["model"].keys() == state.keys()
    assert all(torch.equal(payload["model"][k], v) and not payload["model"][k].requires_grad for k, v in state.items())
    assert model_payload(tiny, LABELS, pre, arch_kwargs={"width": 1})["arch_kwargs"] == {"width": 1}


def test_save_then_load_gives_the_same_model(tiny, tmp_path):
    pre = Preprocess(in_chans=3)
    path = save_model(
        tmp_path / "m.pt",
        tiny,
        LABELS,
        pre,
        calibration={"temperature": 1.5},
        metrics={"acc": 0.5},
        optimizer={"lr": 1},
        ema={"x": 1},
        scheduler={},
        loss_state={},
    )
    loaded = load_model(path)
    assert isinstance(loaded, LoadedModel) and not loaded.model.training
    assert loaded.labels == LABELS and loaded.arch == "mobilenet_v1_025" and loaded.temperature == 1.5
    assert loaded.preprocess.to_dict() == pre.to_dict()
    assert loaded.meta["metrics"] == {"acc": 0.5} and loaded.meta["calibration"] == {"temperature": 1.5}
    assert not {"model", "optimizer", "scheduler", "ema", "loss_state"} & set(loaded.meta)
    for k, v in tiny.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    x = torch.rand(2, 3, pre.input_size, pre.input_size)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), tiny.eval()(x))


def test_loading_a_file_without_calibration_gives_temperature_one(tiny, tmp_path):
    assert load_model(save_model(tmp_path / "m.pt", tiny, LABELS, Preprocess(in_chans=3))).temperature == 1.0


@pytest.mark.parametrize("key", ["arch", "labels", "model"])
def test_a_payload_missing_a_key_is_named(tiny, tmp_path, key):
    payload = model_payload(tiny, LABELS, Preprocess(in_chans=3))
    del payload[key]
    torch.save(payload, tmp_path / "m.pt")
    with pytest.raises(ModelError, match=f"missing '{key}'") as e:
        load_model(tmp_path / "m.pt")
    assert str(tmp_path / "m.pt") in str(e.value)


def test_weights_of_another_shape_and_unreadable_files(tiny, tmp_path):
    payload = model_payload(tiny, LABELS + ("fear",), Preprocess(in_chans=3))  # 4 labels, 3-class weights
    torch.save(payload, tmp_path / "m.pt")
    with pytest.raises(ModelError, match="do not fit architecture 'mobilenet_v1_025'"):
        load_model(tmp_path / "m.pt")
    with pytest.raises(ModelError, match="not found"):
        read_file(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="junk.pt: not a readable PyTorch checkpoint"):
        load_model(tmp_path / "junk.pt")


def test_write_calibration_keeps_the_weights_and_checks_the_value(tiny, tmp_path):
    path = save_model(tmp_path / "m.pt", tiny, LABELS, Preprocess(in_chans=3))
    write_calibration(path, {"temperature": 1.25, "nll": 0.9})
    assert read_file(path)["calibration"] == {"temperature": 1.25, "nll": 0.9}
    loaded = load_model(path)
    assert loaded.temperature == 1.25 and torch.equal(
        loaded.model.state_dict()["head.weight"], tiny.state_dict()["head.weight"]
    )
    before = path.read_bytes()
    with pytest.raises(ModelError, match="positive finite"):
        write_calibration(path, {"temperature": 0})
    assert path.read_bytes() == before
    torch.save({"labels": list(LABELS)}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a ferkit model file"):
        write_calibration(tmp_path / "other.pt", {"temperature": 2})


# ----- training checkpoints (last.pt) ------------------------------------------------------------------------------
def test_read_last_returns_a_complete_checkpoint(tmp_path):
    ck = {k: {"x": 1} for k in RESUME_KEYS}
    torch.save(ck, tmp_path / "last.pt")
    assert read_last(tmp_path / "last.pt") == ck


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty file (0 bytes)"),
        (b"garbage", "unreadable checkpoint (7 bytes"),
    ],
)
def test_read_last_refuses_empty_and_unreadable_files(tmp_path, content, message):
    (tmp_path / "last.pt").write_bytes(content)
    with pytest.raises(ModelError, match=re.escape(message)) as e:
        read_last(tmp_path / "last.pt")
    assert str(e.value).startswith(str(tmp_path / "last.pt")) and "\n" not in str(e.value)


def test_read_last_refuses_other_contents(tmp_path):
    torch.save([1, 2], tmp_path / "last.pt")
    with pytest.raises(ModelError, match="holds a list, not a dict"):
        read_last(tmp_path / "last.pt")
    torch.save({k: 1 for k in RESUME_KEYS if k not in ("optimizer", "torch_rng")}, tmp_path / "last.pt")
    with pytest.raises(ModelError, match="missing optimizer, torch_rng"):
        read_last(tmp_path / "last.pt")


# ----- exact messages and load settings (pinned for mutation testing) --------------------------------------------
def test_arch_kwargs_travel_through_the_file(tmp_path):
    torch.manual_seed(0)
    narrow = create_model("mobilenet_v1", num_classes=len(LABELS), alpha=0.25)  # its kwargs change the shapes
    path = save_model(tmp_path / "m.pt", narrow, LABELS, Preprocess(), arch_kwargs={"alpha": 0.25})
    assert read_file(path)["arch_kwargs"] == {"alpha": 0.25}
    loaded = load_model(path)
    assert loaded.model.num_features == narrow.num_features == 256
    for k, v in narrow.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k


def test_read_file_loads_on_the_cpu_without_running_code(tmp_path, monkeypatch):
    import ferkit.models.checkpoint as checkpoint

    (tmp_path / "m.pt").write_bytes(b"x")
    seen = {}

    def spy(path, **kwargs):
        seen.update(kwargs, path=path)
        return {"arch": "x"}

    monkeypatch.setattr(checkpoint.torch, "load", spy)
    assert read_file(tmp_path / "m.pt") == {"arch": "x"}
    assert seen == {"path": tmp_path / "m.pt", "map_location": "cpu", "weights_only": True}

    def fails(path, **kwargs):
        raise ValueError("bad magic")

    monkeypatch.setattr(checkpoint.torch, "load", fails)
    with pytest.raises(ModelError) as e:
        read_file(tmp_path / "m.pt")
    assert str(e.value) == f"{tmp_path / 'm.pt'}: not a readable PyTorch checkpoint (ValueError: bad magic)"


class NotWeights:  # a pickled object: weights_only loading refuses it
    pass


def test_a_file_holding_code_objects_is_refused(tmp_path):
    torch.save({"arch": "x", "labels": [], "model": {}, "extra": NotWeights()}, tmp_path / "m.pt")
    with pytest.raises(ModelError, match=r"m.pt: not a readable PyTorch checkpoint \(UnpicklingError: "):
        read_file(tmp_path / "m.pt")


def test_missing_file_and_missing_key_messages(tiny, tmp_path):
    with pytest.raises(ModelError) as e:
        read_file(tmp_path / "none.pt")
    assert str(e.value) == f"model file {str(tmp_path / 'none.pt')!r} not found"
    payload = model_payload(tiny, LABELS, Preprocess(in_chans=3))
    del payload["model"]
    torch.save(payload, tmp_path / "m.pt")
    with pytest.raises(ModelError) as e:
        load_model(tmp_path / "m.pt")
    assert str(e.value) == (
        f"{tmp_path / 'm.pt'}: not a ferkit model file (missing 'model'); "
        "for bare state_dicts use ferkit.models.weights.load_pretrained"
    )


def test_write_calibration_names_the_file_of_a_bad_temperature(tiny, tmp_path):
    path = save_model(tmp_path / "m.pt", tiny, LABELS, Preprocess(in_chans=3))
    with pytest.raises(ModelError) as e:
        write_calibration(path, {"temperature": -2})
    assert str(e.value) == f"{path}: calibration temperature must be a positive finite number, got -2.0"


def test_a_minimal_file_gets_the_default_preprocessing_and_grey_input(tmp_path):
    torch.manual_seed(0)
    grey = create_model("mobilenet_v1_025", num_classes=len(LABELS))  # one input channel, no kwargs
    torch.save({"arch": "mobilenet_v1_025", "labels": list(LABELS), "model": grey.state_dict()}, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.preprocess == Preprocess() and loaded.temperature == 1.0 and loaded.meta["labels"] == list(LABELS)
    assert torch.equal(loaded.model.state_dict()["head.weight"], grey.state_dict()["head.weight"])


def test_a_bad_stored_temperature_names_the_file(tiny, tmp_path):
    torch.save(model_payload(tiny, LABELS, Preprocess(in_chans=3), calibration={"temperature": 0}), tmp_path / "m.pt")
    with pytest.raises(ModelError) as e:
        load_model(tmp_path / "m.pt")
    assert str(e.value) == f"{tmp_path / 'm.pt'}: calibration temperature must be a positive finite number, got 0.0"
