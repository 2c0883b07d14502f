import pytest

from ferkit.errors import ConfigError
from ferkit.training.config import TrainConfig, load_config


def test_defaults_and_overrides():
    cfg = load_config(None, ["optim.lr=0.05", "epochs=3", "data.aux_heads=[fer2013]", "augment.erase_area=[0.1, 0.2]"])
    assert isinstance(cfg, TrainConfig)
    assert cfg.optim.lr == 0.05 and cfg.epochs == 3 and cfg.data.aux_heads == ["fer2013"]
    assert cfg.augment.erase_area == (0.1, 0.2)


def test_yaml_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  name: ferresnet_s\nepochs: 2\n")
    cfg = load_config(path, ["epochs=4"])
    assert cfg.model.name == "ferresnet_s" and cfg.epochs == 4


def test_unknown_key_lists_valid_choices(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lerning_rate: 0.1\n")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "optim.lerning_rate" in str(e.value) and "lr" in str(e.value)


def test_top_level_typo():
    with pytest.raises(ConfigError, match="epoch"):
        load_config(None, ["epoch=3"])


def test_bad_choice_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="optim.name"):
        load_config(None, ["optim.name=rmsprop"])
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)


def test_override_syntax():
    with pytest.raises(ConfigError, match="key.sub=value"):
        load_config(None, ["epochs"])
