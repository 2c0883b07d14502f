"""``base:`` inheritance of recipes: deep merge, paths relative to the including file, cycles refused."""

from __future__ import annotations

import pytest

from ferkit.errors import ConfigError
from ferkit.training.config import load_config
from ferkit.training.typed import deep_merge, read_yaml


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_recipe_deep_merges_over_its_base(tmp_path):
    _write(tmp_path / "base.yaml", "epochs: 30\noptim:\n  lr: 0.1\n  batch_size: 64\naugment:\n  rotate: 10\n")
    child = _write(tmp_path / "child.yaml", "base: base.yaml\noptim:\n  lr: 0.01\n")
    cfg = load_config(child)
    assert cfg.epochs == 30 and cfg.optim.batch_size == 64 and cfg.augment.rotate == 10  # inherited
    assert cfg.optim.lr == 0.01  # overridden key by key, the rest of the section kept


def test_lists_replace_and_the_base_key_is_gone(tmp_path):
    _write(tmp_path / "base.yaml", "data:\n  aux_heads: [fer2013]\n  dataset: ferplus\n")
    child = _write(tmp_path / "child.yaml", "base: base.yaml\ndata:\n  aux_heads: []\n")
    raw = read_yaml(child)
    assert raw == {"data": {"aux_heads": [], "dataset": "ferplus"}}


def test_base_paths_resolve_against_the_including_file_not_the_working_directory(tmp_path, monkeypatch):
    _write(tmp_path / "family" / "_base.yaml", "epochs: 7\n")
    _write(tmp_path / "family" / "mid.yaml", "base: _base.yaml\nseed: 3\n")
    leaf = _write(tmp_path / "family" / "sweep" / "leaf.yaml", "base: ../mid.yaml\nthreads: 1\n")
    monkeypatch.chdir(tmp_path)  # neither the leaf's folder nor its base's
    cfg = load_config(leaf)
    assert (cfg.epochs, cfg.seed, cfg.threads) == (7, 3, 1)


def test_several_bases_merge_in_order(tmp_path):
    _write(tmp_path / "a.yaml", "epochs: 1\nseed: 1\n")
    _write(tmp_path / "b.yaml", "seed: 2\n")
    child = _write(tmp_path / "c.yaml", "base: [a.yaml, b.yaml]\n")
    assert read_yaml(child) == {"epochs": 1, "seed": 2}


def test_dotted_overrides_apply_after_inheritance(tmp_path):
    _write(tmp_path / "base.yaml", "data:\n  dataset: ferplus\n  mode: majority\n")
    child = _write(tmp_path / "child.yaml", "base: base.yaml\nepochs: 2\n")
    cfg = load_config(child, ["data.mode=probability", "epochs=3"])
    assert cfg.data.dataset == "ferplus" and cfg.data.mode == "probability" and cfg.epochs == 3


def test_a_cycle_is_a_clear_error(tmp_path):
    _write(tmp_path / "a.yaml", "base: b.yaml\n")
    _write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match=r"inheritance cycle \(a.yaml -> b.yaml -> a.yaml\)"):
        read_yaml(tmp_path / "a.yaml")
    _write(tmp_path / "self.yaml", "base: self.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        read_yaml(tmp_path / "self.yaml")


def test_a_missing_or_malformed_base_names_the_file(tmp_path):
    child = _write(tmp_path / "child.yaml", "base: nowhere.yaml\n")
    with pytest.raises(ConfigError, match="base recipe 'nowhere.yaml' not found"):
        read_yaml(child)
    _write(child, "base: 3\n")
    with pytest.raises(ConfigError, match="base must be a file name"):
        read_yaml(child)


def test_a_diamond_is_not_a_cycle(tmp_path):
    _write(tmp_path / "root.yaml", "epochs: 5\n")
    _write(tmp_path / "l.yaml", "base: root.yaml\nseed: 1\n")
    _write(tmp_path / "r.yaml", "base: root.yaml\nthreads: 2\n")
    child = _write(tmp_path / "c.yaml", "base: [l.yaml, r.yaml]\n")
    assert read_yaml(child) == {"epochs": 5, "seed": 1, "threads": 2}


def test_deep_merge_leaves_its_inputs_alone():
    base, over = {"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}
    assert deep_merge(base, over) == {"a": {"b": 3, "c": 2}}
    assert base == {"a": {"b": 1, "c": 2}} and over == {"a": {"b": 3}}
