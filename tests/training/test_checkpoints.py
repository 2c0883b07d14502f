"""Safe resume: last.pt is read with weights_only=True; broken or foreign files get one-line errors naming them."""

from __future__ import annotations

import pickle

import pytest
import torch
from run_configs import tiny_config

from ferkit.cli.main import main as cli
from ferkit.errors import ModelError
from ferkit.training.trainer import Trainer

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def finished_run(data_root, cache_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    Trainer(tiny_config(data_root, cache_dir, out), progress=False).fit()
    return out


class Boom:
    def __reduce__(self):
        return (print, ("code ran while loading",))


@pytest.mark.parametrize("kind", ["empty", "truncated", "pickled_code", "not_a_dict", "model_file"])
def test_broken_last_pt_is_a_one_line_error(finished_run, data_root, cache_dir, tmp_path, kind, capsys):
    out = tmp_path / kind
    out.mkdir()
    good = (finished_run / "last.pt").read_bytes()
    last = out / "last.pt"
    if kind == "empty":
        last.write_bytes(b"")
    elif kind == "truncated":
        last.write_bytes(good[: len(good) // 2])
    elif kind == "pickled_code":
        last.write_bytes(pickle.dumps({"model": Boom()}))
    elif kind == "not_a_dict":
        torch.save([1, 2, 3], last)
    else:  # a model file (best.pt) has no training state
        last.write_bytes((finished_run / "best.pt").read_bytes())
    with pytest.raises(ModelError) as e:
        Trainer(tiny_config(data_root, cache_dir, out), resume=True, progress=False)
    message = str(e.value)
    assert str(last) in message and "\n" not in message
    expected = {
        "empty": "empty",
        "truncated": "unreadable",
        "pickled_code": "unreadable",
        "not_a_dict": "not a",
        "model_file": "missing",
    }[kind]
    assert expected in message
    assert "code ran" not in capsys.readouterr().out  # weights_only: the crafted object was never built


def test_mismatched_checkpoint_names_what_differs(finished_run, data_root, cache_dir, tmp_path):
    out = tmp_path / "other"
    out.mkdir()
    (out / "last.pt").write_bytes((finished_run / "last.pt").read_bytes())
    with pytest.raises(ModelError, match="ferresnet_s.*ferresnet_m|model"):
        Trainer(tiny_config(data_root, cache_dir, out, "model.name=ferresnet_m"), resume=True, progress=False)
    with pytest.raises(ModelError, match="input_size"):
        Trainer(tiny_config(data_root, cache_dir, out, "data.input_size=44"), resume=True, progress=False)
    code = cli(
        [
            "train",
            f"out_dir={out}",
            "--resume",
            f"data.data_root={data_root}",
            f"data.cache={cache_dir}",
            "model.name=ferresnet_m",
            "data.train_subset=64",
            "data.val_subset=32",
            "--no-progress",
        ]
    )
    assert code == 2


def test_resume_of_a_good_checkpoint_continues(finished_run, data_root, cache_dir):
    trainer = Trainer(tiny_config(data_root, cache_dir, finished_run, "epochs=2"), resume=True, progress=False)
    assert trainer.state.epoch == 1
