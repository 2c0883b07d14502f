"""Training checkpoints on a synthetic run (quick lane, no training): what ``last.pt`` and ``best*.pt`` hold, that
``resume`` puts every part back exactly (weights, heads, loss, optimiser, plateau, EMA, augmentation and torch
generators, progress), and the one-line error each mismatch gets.

The run is a stand-in with the fields ``training.checkpoints`` reads (a ``Run`` is a plain dataclass of parts):
a three-layer model, one auxiliary head, an optimiser that has taken a step, a plateau scheduler that has seen
epochs, an EMA that differs from the live weights."""

from __future__ import annotations

import copy
import json
import logging
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn

from ferkit.errors import ModelError
from ferkit.training import checkpoints as C
from ferkit.training.distributed import DistInfo
from ferkit.training.ema import EMA
from ferkit.training.heads import Heads
from ferkit.training.state import TrainState
from ferkit.transforms.augment import AugmentConfig, BatchAugment
from ferkit.transforms.preprocess import Preprocess

LABELS = ("neutral", "happiness", "surprise")
AUX = {"valence": ("negative", "positive")}


class Tiny(nn.Module):
    def __init__(self, classes: int = len(LABELS)):
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.norm = nn.BatchNorm1d(4)  # float buffers and an integer one (num_batches_tracked)
        self.head = nn.Linear(4, classes)
        self.arch_name = "tiny_ck"


def make_run(out, seed: int, *, ema: bool = True, plateau: bool = True, main: bool = True, **changes):
    """A stand-in Run whose every part holds state drawn from ``seed`` (two seeds: two different runs)."""
    g = torch.Generator().manual_seed(seed)
    model = Tiny(changes.pop("classes", len(LABELS)))
    aux = Heads(4, changes.pop("aux_labels", AUX))
    loss = nn.Linear(2, 2)  # a loss with parameters (like centre loss)
    with torch.no_grad():
        for p in [*model.parameters(), *aux.parameters(), *loss.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g))
        model.norm.running_mean.copy_(torch.randn(4, generator=g))
        model.norm.num_batches_tracked.fill_(seed + 1)
    averaged = EMA(model, aux, 0.9) if ema else None
    with torch.no_grad():  # the live weights move on after the EMA copy, so the two differ
        for p in [*model.parameters(), *aux.parameters()]:
            p.add_(1.0)
    optimizer = torch.optim.SGD([*model.parameters(), *aux.parameters(), *loss.parameters()], lr=0.1, momentum=0.9)
    for p in optimizer.param_groups[0]["params"]:
        p.grad = torch.randn(p.shape, generator=g)
    optimizer.step()  # momentum buffers: optimiser state to restore
    scheduler = None
    if plateau:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", patience=5)
        for value in torch.rand(seed % 3 + 2, generator=g).tolist():
            scheduler.step(value)
    augment = BatchAugment(AugmentConfig(), 40, 48, seed=seed)
    torch.rand(seed + 1, generator=augment.generator)  # the augmentation generator has moved on
    cfg = SimpleNamespace(model=SimpleNamespace(kwargs={"width": seed}), to_dict=lambda: {"seed": seed, "epochs": 9})
    return SimpleNamespace(
        cfg=cfg,
        out=out,
        device=torch.device("cpu"),
        dist=DistInfo(rank=0 if main else 1, world=2),
        preprocess=changes.pop("preprocess", Preprocess()),
        data=SimpleNamespace(aux_labels=aux.labels, train_set=SimpleNamespace(labels=changes.pop("labels", LABELS))),
        model=model,
        aux=aux,
        loss=loss,
        ema=averaged,
        optimizer=optimizer,
        schedule=SimpleNamespace(plateau=scheduler),
        augment=augment,
    )


def same(a, b) -> bool:
    """Nested dicts / lists / tensors equal exactly (tensors: values, dtype and shape)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def state_of(run) -> dict:
    """Everything a resume must put back, as comparable values (copies: loading writes into the tensors)."""
    return copy.deepcopy(
        {
            "model": run.model.state_dict(),
            "aux": run.aux.state_dict(),
            "loss": run.loss.state_dict(),
            "optimizer": run.optimizer.state_dict(),
            "plateau": run.schedule.plateau.state_dict() if run.schedule.plateau else None,
            "ema": run.ema.model.state_dict() if run.ema else None,
            "ema_aux": run.ema.aux.state_dict() if run.ema else None,
            "augment": run.augment.state_dict(),
        }
    )


PROGRESS = TrainState(
    epoch=3, best={"main": 0.5, "valence": 0.75}, history=[{"epoch": e, "val_acc": e / 4} for e in (1, 2, 3)]
)


# ----- the model-file payload of a run -----------------------------------------------------------------------------
def test_checkpoint_payload_holds_the_live_weights_heads_and_config(tmp_path):
    run = make_run(tmp_path, 1)
    payload = C.checkpoint_payload(run, 7)
    assert payload["format"] == "ferkit-model-v1" and payload["arch"] == "tiny_ck" and payload["epoch"] == 7
    assert payload["labels"] == list(LABELS) and payload["preprocess"] == Preprocess().to_dict()
    assert payload["arch_kwargs"] == {"width": 1} and payload["arch_kwargs"] is not run.cfg.model.kwargs
    assert payload["config"] == {"seed": 1, "epochs": 9}
    assert same(payload["model"], run.model.state_dict())
    assert payload["aux_heads"].keys() == {"valence"}
    head = payload["aux_heads"]["valence"]
    assert head["labels"] == ["negative", "positive"] and isinstance(head["labels"], list)
    assert same(head["state"], run.aux.heads["valence"].state_dict())
    assert not any(v.requires_grad for v in head["state"].values())
    assert same(C.checkpoint_payload(run, 7, ema=False)["model"], payload["model"])


def test_checkpoint_payload_of_the_ema_weights(tmp_path):
    run = make_run(tmp_path, 2)
    payload = C.checkpoint_payload(run, 2, ema=True)
    assert same(payload["model"], run.ema.model.state_dict())
    assert same(payload["aux_heads"]["valence"]["state"], run.ema.aux.heads["valence"].state_dict())
    assert not same(payload["model"], run.model.state_dict())  # the EMA differs from the live weights
    plain = make_run(tmp_path, 2, ema=False)  # no EMA kept: ema=True gives the live weights
    assert same(C.checkpoint_payload(plain, 2, ema=True)["model"], plain.model.state_dict())


def test_checkpoint_payload_without_auxiliary_heads(tmp_path):
    run = make_run(tmp_path, 3, aux_labels={})
    assert C.checkpoint_payload(run, 1)["aux_heads"] == {}


def test_cpu_copies_tensors_and_keeps_other_values():
    t = torch.ones(2, requires_grad=True)
    out = C._cpu({"t": t, "n": 3, "s": "x", "none": None})
    assert out.keys() == {"t", "n", "s", "none"} and out["n"] == 3 and out["s"] == "x" and out["none"] is None
    assert torch.equal(out["t"], t.detach()) and not out["t"].requires_grad and out["t"].device.type == "cpu"


# ----- last.pt and resume ------------------------------------------------------------------------------------------
def test_last_checkpoint_holds_everything_a_resume_needs(tmp_path):
    run = make_run(tmp_path, 4)
    C.save_last(run, PROGRESS)
    ck = torch.load(tmp_path / "last.pt", weights_only=True)
    assert set(C.RESUME_KEYS) <= set(ck)
    assert ck["epoch"] == 3 and ck["arch"] == "tiny_ck" and ck["labels"] == list(LABELS)
    assert ck["train_state"] == {"epoch": 3, "best": PROGRESS.best, "history": PROGRESS.history}
    assert same(ck["aux_state"], run.aux.state_dict()) and same(ck["loss_state"], run.loss.state_dict())
    assert same(ck["optimizer"], run.optimizer.state_dict())
    assert same(ck["plateau"], run.schedule.plateau.state_dict())
    assert same(ck["ema"], run.ema.model.state_dict()) and same(ck["ema_aux"], run.ema.aux.state_dict())
    assert same(ck["augment"], run.augment.state_dict())
    assert ck["cuda_rng"] is None and ck["torch_rng"].dtype == torch.uint8
    assert same(ck["model"], run.model.state_dict())  # the live weights, not the EMA
    bare = make_run(tmp_path / "bare", 4, ema=False, plateau=False)
    (tmp_path / "bare").mkdir()
    C.save_last(bare, TrainState())
    ck = torch.load(tmp_path / "bare" / "last.pt", weights_only=True)
    assert ck["plateau"] is None and ck["ema"] is None and ck["ema_aux"] is None
    assert ck["train_state"] == {"epoch": 0, "best": {}, "history": []}


def test_resume_restores_every_part_and_the_torch_generator(tmp_path, capsys):
    saved = make_run(tmp_path, 5)
    C.save_last(saved, PROGRESS)
    after_save = torch.rand(4)  # what the generator gives next at the save
    fresh = make_run(tmp_path, 6)  # another run: every part differs before the resume
    assert all(not same(a, b) for a, b in zip(state_of(saved).values(), state_of(fresh).values()))
    torch.manual_seed(123)
    state = C.resume(fresh)
    assert torch.equal(torch.rand(4), after_save)
    want = state_of(saved)
    for key, value in state_of(fresh).items():
        assert same(value, want[key]), key
    assert state == PROGRESS and type(state.epoch) is int and type(state.best) is dict and type(state.history) is list
    assert capsys.readouterr().err == f"resumed from {tmp_path / 'last.pt'} after epoch 3\n"
    again = make_run(tmp_path, 7, main=False)  # other ranks resume silently
    C.resume(again)
    assert capsys.readouterr().err == ""
    assert same(again.model.state_dict(), want["model"])


def test_resume_leaves_plateau_and_ema_alone_when_the_checkpoint_has_none(tmp_path):
    C.save_last(make_run(tmp_path, 8, ema=False, plateau=False), PROGRESS)
    run = make_run(tmp_path, 9)
    before = state_of(run)
    C.resume(run)
    after = state_of(run)
    assert same(after["plateau"], before["plateau"]) and same(after["ema"], before["ema"])
    assert same(after["ema_aux"], before["ema_aux"])
    assert not same(after["model"], before["model"])
    C.save_last(make_run(tmp_path, 8), PROGRESS)
    plain = make_run(tmp_path, 9, ema=False, plateau=False)  # a run without them resumes from one with them
    assert C.resume(plain) == PROGRESS


def test_resume_without_a_checkpoint_starts_fresh_with_a_warning(tmp_path, caplog):
    run = make_run(tmp_path, 10)
    before = state_of(run)
    with caplog.at_level(logging.WARNING, logger="ferkit.training.checkpoints"):
        state = C.resume(run)
    assert state == TrainState()
    assert [r.getMessage() for r in caplog.records] == [
        f"--resume: no checkpoint at {tmp_path / 'last.pt'}, starting fresh"
    ]
    assert same(state_of(run), before)


@pytest.mark.parametrize("key", C.RESUME_KEYS)
def test_a_last_checkpoint_missing_any_resume_key_is_refused(tmp_path, key):
    C.save_last(make_run(tmp_path, 11, ema=False), PROGRESS)
    ck = torch.load(tmp_path / "last.pt", weights_only=True)
    del ck[key]
    torch.save(ck, tmp_path / "last.pt")
    with pytest.raises(ModelError, match=rf"not a training checkpoint \(missing {key}\); only last.pt"):
        C.resume(make_run(tmp_path, 11, ema=False))


def test_resume_key_list():
    assert C.RESUME_KEYS == (
        "arch", "labels", "model", "aux_state", "loss_state", "optimizer", "augment", "torch_rng", "train_state"
    )  # fmt: skip


def mismatch(tmp_path, **changes) -> str:
    C.save_last(make_run(tmp_path, 12), PROGRESS)
    with pytest.raises(ModelError) as e:
        C.resume(make_run(tmp_path, 13, **changes))
    message = str(e.value)
    assert message.startswith(f"{tmp_path / 'last.pt'}: ") and "\n" not in message
    return message[len(str(tmp_path / "last.pt")) + 2 :]


def test_resume_refuses_another_architecture(tmp_path):
    C.save_last(make_run(tmp_path, 12), PROGRESS)
    other = make_run(tmp_path, 13)
    other.model.arch_name = "other_net"
    with pytest.raises(ModelError) as e:
        C.resume(other)
    assert str(e.value) == f"{tmp_path / 'last.pt'}: checkpoint of model 'tiny_ck', but the config trains 'other_net'"


def test_resume_refuses_other_labels(tmp_path):
    message = mismatch(tmp_path, labels=("happiness", "neutral", "surprise"))
    assert message == (
        "checkpoint labels ['neutral', 'happiness', 'surprise'] differ from the dataset's "
        "['happiness', 'neutral', 'surprise']"
    )


@pytest.mark.parametrize(
    "pre, message",
    [
        (Preprocess(source_size=64), "checkpoint has source_size=48 but the config says 64"),
        (Preprocess(input_size=44), "checkpoint has input_size=40 but the config says 44"),
        (Preprocess(in_chans=3, mean=[0.5] * 3, std=[0.25] * 3), "checkpoint has in_chans=1 but the config says 3"),
    ],
)
def test_resume_refuses_other_preprocessing(tmp_path, pre, message):
    assert mismatch(tmp_path, preprocess=pre) == message


def test_resume_takes_other_normalisation_and_a_checkpoint_without_preprocessing(tmp_path):
    C.save_last(make_run(tmp_path, 14), PROGRESS)
    assert C.resume(make_run(tmp_path, 15, preprocess=Preprocess(mean=[0.4], std=[0.3]))) == PROGRESS
    ck = torch.load(tmp_path / "last.pt", weights_only=True)
    del ck["preprocess"]
    torch.save(ck, tmp_path / "last.pt")
    assert C.resume(make_run(tmp_path, 15, preprocess=Preprocess(source_size=64))) == PROGRESS


def test_resume_names_the_part_whose_state_does_not_fit(tmp_path):
    assert mismatch(tmp_path, classes=4).startswith("model weights does not match this run (Error(s) in loading")
    message = mismatch(tmp_path, aux_labels={"valence": ("a", "b", "c")})
    assert message.startswith("auxiliary heads does not match this run (Error(s) in loading state_dict for Heads:")
    assert message.endswith("Heads:)")  # the first line of torch's message


def test_resume_names_a_bad_loss_optimiser_plateau_ema_or_augment_state(tmp_path):
    C.save_last(make_run(tmp_path, 16), PROGRESS)
    good = torch.load(tmp_path / "last.pt", weights_only=True)
    broken = {
        "loss_state": ({"weight": torch.zeros(3, 3)}, "loss state"),
        "optimizer": ({"state": {}, "param_groups": []}, "optimizer state"),
        "plateau": ([1], "plateau scheduler"),
        "ema": ({"body.weight": torch.zeros(1)}, "EMA weights"),
        "ema_aux": ({"bad": torch.zeros(1)}, "EMA heads"),
        "augment": ({"seed": 1}, "augmentation generator (saved on another device type?)"),
    }
    for key, (value, what) in broken.items():
        torch.save({**good, key: value}, tmp_path / "last.pt")
        with pytest.raises(ModelError) as e:
            C.resume(make_run(tmp_path, 17))
        assert str(e.value).startswith(f"{tmp_path / 'last.pt'}: {what} does not match this run ("), key


@pytest.mark.parametrize(
    "error, detail",
    [
        (RuntimeError("first line\nsecond line"), "first line"),
        (ValueError("  padded  \n"), "padded"),
        (KeyError("generator"), "'generator'"),
        (TypeError(""), "TypeError"),
        (RuntimeError("   "), "RuntimeError"),
        (ValueError("x" * 300), "x" * 200),
    ],
)
def test_load_turns_a_failure_into_a_one_line_error(tmp_path, error, detail):
    def fail(state):
        raise error

    with pytest.raises(ModelError) as e:
        C._load("the part", tmp_path / "last.pt", fail, {})
    assert str(e.value) == f"{tmp_path / 'last.pt'}: the part does not match this run ({detail})"
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_load_passes_the_state_and_lets_other_errors_through(tmp_path):
    seen = []
    C._load("x", tmp_path, seen.append, {"a": 1})
    assert seen == [{"a": 1}]

    def broken(state):
        raise OSError("disk")

    with pytest.raises(OSError, match="disk"):
        C._load("x", tmp_path, broken, {})


def test_read_last_reason_is_one_line_of_at_most_200_characters(tmp_path, monkeypatch):
    (tmp_path / "last.pt").write_bytes(b"0123456789")

    def bad_load(*args, **kwargs):
        raise ValueError("a\n   b\t" + "y" * 300)

    monkeypatch.setattr(C.torch, "load", bad_load)
    with pytest.raises(ModelError) as e:
        C.read_last(tmp_path / "last.pt")
    assert str(e.value) == (
        f"{tmp_path / 'last.pt'}: unreadable checkpoint (10 bytes; truncated, corrupt or not saved by ferkit: "
        f"ValueError: a b {'y' * 196})"
    )
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_read_last_loads_on_the_cpu_without_running_code(tmp_path, monkeypatch):
    (tmp_path / "last.pt").write_bytes(b"x")
    seen = {}

    def spy(path, **kwargs):
        seen.update(kwargs, path=path)
        return dict.fromkeys(C.RESUME_KEYS, 0)

    monkeypatch.setattr(C.torch, "load", spy)
    C.read_last(tmp_path / "last.pt")
    assert seen == {"path": tmp_path / "last.pt", "map_location": "cpu", "weights_only": True}


def test_read_last_messages(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(b"")
    with pytest.raises(ModelError) as e:
        C.read_last(path)
    assert str(e.value) == f"{path}: empty file (0 bytes), not a checkpoint; delete it to start fresh"
    torch.save((1, 2), path)
    with pytest.raises(ModelError) as e:
        C.read_last(path)
    assert str(e.value) == f"{path}: not a ferkit training checkpoint (holds a tuple, not a dict)"
    torch.save({"arch": 1}, path)
    with pytest.raises(ModelError) as e:
        C.read_last(path)
    assert str(e.value) == (
        f"{path}: not a training checkpoint (missing labels, model, aux_state, loss_state, optimizer, augment, "
        "torch_rng, train_state); only last.pt of a ferkit run can be resumed"
    )


# ----- best*.pt ----------------------------------------------------------------------------------------------------
def test_aux_head_payload_swaps_in_the_auxiliary_head():
    payload = {
        "arch": "tiny_ck",
        "labels": ["a", "b", "c"],
        "epoch": 2,
        "model": {"body.weight": torch.ones(1), "head.weight": torch.zeros(3), "head.bias": torch.zeros(3)},
        "aux_heads": {"valence": {"labels": ["neg", "pos"], "state": {"weight": torch.full((2,), 5.0)}}},
    }
    out = C.aux_head_payload(payload, "valence")
    assert out["labels"] == ["neg", "pos"] and out["arch"] == "tiny_ck" and out["epoch"] == 2
    assert out["aux_heads"] is payload["aux_heads"]
    assert same(out["model"], {"body.weight": torch.ones(1), "head.weight": torch.full((2,), 5.0)})
    assert payload["labels"] == ["a", "b", "c"] and set(payload["model"]) == {"body.weight", "head.weight", "head.bias"}
    assert torch.equal(payload["model"]["head.weight"], torch.zeros(3))


def test_save_best_writes_the_main_model_and_its_metrics(tmp_path):
    run = make_run(tmp_path, 18)
    C.save_best(run, PROGRESS, "main", {"val_acc": 0.5}, ema=False)
    best = torch.load(tmp_path / "best.pt", weights_only=True)
    assert best["metrics"] == {"val_acc": 0.5} and best["labels"] == list(LABELS) and best["epoch"] == 3
    assert same(best["model"], run.model.state_dict())
    assert json.loads((tmp_path / "best_metrics.json").read_text()) == {"epoch": 3, "val_acc": 0.5}
    C.save_best(run, PROGRESS, "main", {"val_acc": 0.25}, ema=True)
    assert same(torch.load(tmp_path / "best.pt", weights_only=True)["model"], run.ema.model.state_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt", "best_metrics.json"]


def test_save_best_of_an_auxiliary_head_is_a_stand_alone_model(tmp_path):
    run = make_run(tmp_path, 19)
    C.save_best(run, PROGRESS, "valence", {"val_acc": 0.75}, ema=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_valence.pt", "best_valence_metrics.json"]
    best = torch.load(tmp_path / "best_valence.pt", weights_only=True)
    assert best["labels"] == ["negative", "positive"] and best["metrics"] == {"val_acc": 0.75}
    head = run.ema.aux.heads["valence"].state_dict()
    assert same(best["model"]["head.weight"], head["weight"]) and same(best["model"]["head.bias"], head["bias"])
    assert same(best["model"]["body.weight"], run.ema.model.state_dict()["body.weight"])
    assert json.loads((tmp_path / "best_valence_metrics.json").read_text()) == {"epoch": 3, "val_acc": 0.75}


# ----- the GPU generator (a stand-in torch.cuda: the calls and what they get) ------------------------------------
@pytest.fixture
def fake_cuda(monkeypatch):
    calls = []
    state = torch.arange(16, dtype=torch.uint8)

    def get_rng_state(device="cuda"):
        calls.append(("get", device))
        return state.clone()

    def set_rng_state(new_state, device="cuda"):
        calls.append(("set", new_state, device))

    monkeypatch.setattr(C.torch.cuda, "get_rng_state", get_rng_state)
    monkeypatch.setattr(C.torch.cuda, "set_rng_state", set_rng_state)
    return calls, state


def test_a_gpu_run_saves_and_restores_its_device_generator(tmp_path, fake_cuda):
    calls, state = fake_cuda
    gpu = torch.device("cuda", 1)
    run = make_run(tmp_path, 20)
    run.device = gpu
    C.save_last(run, PROGRESS)
    assert calls == [("get", gpu)]
    assert torch.equal(torch.load(tmp_path / "last.pt", weights_only=True)["cuda_rng"], state)
    calls.clear()
    again = make_run(tmp_path, 21)
    again.device = gpu
    C.resume(again)
    assert len(calls) == 1 and calls[0][0] == "set" and calls[0][2] == gpu
    assert torch.equal(calls[0][1], state) and calls[0][1].device.type == "cpu"


def test_the_device_generator_is_left_alone_off_the_gpu_or_when_not_saved(tmp_path, fake_cuda):
    calls, _ = fake_cuda
    gpu = torch.device("cuda", 0)
    run = make_run(tmp_path, 22)
    run.device = gpu
    C.save_last(run, PROGRESS)  # a checkpoint with a GPU generator, resumed on the CPU
    calls.clear()
    C.resume(make_run(tmp_path, 23))
    assert calls == []
    C.save_last(make_run(tmp_path, 24), PROGRESS)  # a CPU checkpoint (no GPU generator), resumed on a GPU
    assert calls == []
    on_gpu = make_run(tmp_path, 25)
    on_gpu.device = gpu
    C.resume(on_gpu)
    assert calls == []
