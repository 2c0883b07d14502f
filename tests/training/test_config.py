from pathlib import Path

import pytest

from ferkit.errors import ConfigError
from ferkit.training.config import TrainConfig, load_config
from ferkit.training.typed import read_yaml


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


def test_values_are_converted_to_the_declared_types():
    cfg = load_config(
        None,
        [
            "optim.lr=1e-3",
            "optim.batch_size=128",
            "data.val_subset=null",
            "threads=2.0",
            "augment.rotate=5",
            "precision=bf16",
            "data.in_chans=3",
        ],
    )
    assert cfg.optim.lr == 0.001 and isinstance(cfg.optim.lr, float)  # YAML 1.1 reads 1e-3 as a string
    assert cfg.optim.batch_size == 128 and cfg.threads == 2 and isinstance(cfg.threads, int)
    assert isinstance(cfg.augment.rotate, float) and cfg.data.val_subset is None and cfg.data.in_chans == 3


@pytest.mark.parametrize(
    "override, key",
    [
        ("epochs=three", "epochs"),
        ("optim.batch_size=64.5", "optim.batch_size"),
        ("optim.lr=-0.1", "optim.lr"),
        ("optim.batch_size=0", "optim.batch_size"),
        ("optim.lr=fast", "optim.lr"),
        ("optim.nesterov=maybe", "optim.nesterov"),
        ("data.aux_heads=fer2013", "data.aux_heads"),
        ("data.in_chans=2", "data.in_chans"),
        ("precision=fp16", "precision"),
        ("augment.erase_area=[0.1]", "augment.erase_area"),
        ("model.kwargs=[1]", "model.kwargs"),
        ("ema_decay=1.5", "ema_decay"),
        ("augment.blur=1.5", "augment.blur"),
        ("augment.jpeg=-0.1", "augment.jpeg"),
        ("augment.downscale=yes", "augment.downscale"),
        ("augment.blur_sigma=[2, 1]", "augment.blur_sigma"),
        ("augment.blur_sigma=[0, 1]", "augment.blur_sigma"),
        ("augment.jpeg_quality=[0, 50]", "augment.jpeg_quality"),
        ("augment.jpeg_quality=[90, 20]", "augment.jpeg_quality"),
        ("augment.jpeg_quality=[30.5, 90]", "augment.jpeg_quality"),
        ("augment.jpeg_quality=[30, 101]", "augment.jpeg_quality"),
        ("augment.downscale_min=0", "augment.downscale_min"),
        ("augment.downscale_min=1.2", "augment.downscale_min"),
        ("augment.flip=2", "augment.flip"),
        ("model.pretrained_head=true", "model.pretrained"),
        ("model.aux_pretrained=[fer2013]", "model.aux_pretrained"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(override, key):
    with pytest.raises(ConfigError) as e:
        load_config(None, [override])
    message = str(e.value)
    assert key in message and "\n" not in message


def test_degradation_keys_are_typed_and_off_by_default():
    assert load_config(None, []).augment.blur == 0 == load_config(None, []).augment.jpeg
    cfg = load_config(
        None,
        [
            "augment.blur=0.3",
            "augment.blur_sigma=[0.5, 2]",
            "augment.downscale=0.2",
            "augment.downscale_min=0.4",
            "augment.jpeg=0.25",
            "augment.jpeg_quality=[20, 90]",
            "model.pretrained=ferplus",
            "model.pretrained_head=true",
            "model.aux_pretrained={fer2013: fer2013}",
        ],
    )
    assert cfg.augment.blur_sigma == (0.5, 2.0) and cfg.augment.jpeg_quality == (20, 90)
    assert isinstance(cfg.augment.jpeg_quality[0], int) and cfg.model.aux_pretrained == {"fer2013": "fer2013"}


def test_every_config_in_the_repository_still_loads():
    """Every YAML under configs/ and lab/configs/ loads with the loader of its kind, so a renamed key cannot strand
    a recipe."""
    from ferkit.training.autoencoder import load_ae_config
    from ferkit.training.finetune import load_finetune_config

    repo = Path(__file__).resolve().parents[2]
    paths = sorted([*(repo / "configs").rglob("*.yaml"), *(repo / "lab" / "configs").rglob("*.yaml")])
    assert len(paths) > 40
    kinds = {"training": 0, "finetune plan": 0, "autoencoder": 0, "zoo manifest": 0}
    for path in paths:
        keys = set(read_yaml(path))
        if path == repo / "lab" / "configs" / "zoo" / "zoo.yaml":
            assert {"rows"} <= keys
            kinds["zoo manifest"] += 1
        elif "folds" in keys:
            load_finetune_config(path)
            kinds["finetune plan"] += 1
        elif "mask_prob" in keys:
            load_ae_config(path)
            kinds["autoencoder"] += 1
        else:
            cfg = load_config(path)
            kinds["training"] += 1
            # a teacher named by file must be in the repository, unless it is another recipe's run output (runs/)
            sources = [*cfg.loss.distill.teachers, *(t for ts in cfg.loss.distill.aux_teachers.values() for t in ts)]
            for source in sources:
                if source.endswith((".pt", ".onnx")) and not source.startswith("runs/"):
                    assert (repo / source).is_file(), f"{path.name}: teacher {source} is not in the repository"
    assert all(kinds.values()), kinds


def test_yaml_values_are_typed_too(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 1e-3\n  batch_size: '32'\nepochs: 2.0\n")
    cfg = load_config(path)
    assert cfg.optim.lr == 0.001 and cfg.optim.batch_size == 32 and cfg.epochs == 2
    path.write_text("epochs: [3]\n")
    with pytest.raises(ConfigError, match="epochs"):
        load_config(path)


def test_linear_lr_scaling_rule():
    assert load_config(None, ["optim.lr=0.1", "optim.batch_size=256"]).lr == pytest.approx(0.4)
    assert load_config(None, ["optim.lr=0.1", "optim.batch_size=64"]).lr == pytest.approx(0.1)
    assert load_config(None, ["optim.lr=0.1", "optim.batch_size=256", "optim.lr_base_batch=null"]).lr == 0.1


def test_overrides_may_stand_anywhere_among_the_flags(tmp_path, monkeypatch):
    import ferkit.training.trainer as trainer_module
    from ferkit.cli.main import main as cli
    from ferkit.training.trainer import TrainState

    seen = {}

    def fake_train(cfg, resume=False, progress=None):
        seen.update(cfg=cfg, progress=progress)
        return TrainState(epoch=cfg.epochs)

    monkeypatch.setattr(trainer_module, "train", fake_train)
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 1\n")
    code = cli(
        [
            "train",
            "--config",
            str(path),
            "--out-dir",
            str(tmp_path / "d"),
            "epochs=3",
            "--no-progress",
            "model.name=resnet18",
            "optim.lr=1e-3",
        ]
    )
    assert code == 0
    cfg = seen["cfg"]
    assert cfg.epochs == 3 and cfg.model.name == "resnet18" and cfg.optim.lr == 0.001
    assert cfg.out_dir == str(tmp_path / "d") and seen["progress"] is False


def test_bad_override_on_the_command_line_is_one_line(tmp_path, capsys):
    from ferkit.cli.main import main as cli

    assert cli(["train", f"out_dir={tmp_path}", "epochs=three"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ferkit train: error:") and "epochs" in err and "\n" not in err


def test_every_pinned_starting_point_in_the_repository_has_its_pinned_digest():
    """A recipe that pins `model.pretrained_sha256` must find those exact weights on a fresh checkout (re-shipping
    a model must not silently break the recipes that started from the old file: see lab/weights/README.md)."""
    import hashlib

    root = Path(__file__).resolve().parents[2]
    pinned = []
    for path in sorted([*(root / "configs").rglob("*.yaml"), *(root / "lab" / "configs").rglob("*.yaml")]):
        model = read_yaml(path).get("model") or {}
        if isinstance(model, dict) and model.get("pretrained_sha256"):
            weights = root / model["pretrained"]
            assert weights.is_file(), f"{path.relative_to(root)}: {model['pretrained']} is not in the repository"
            digest = hashlib.sha256(weights.read_bytes()).hexdigest()
            assert digest.startswith(model["pretrained_sha256"]), f"{path.relative_to(root)}: {model['pretrained']}"
            pinned.append(path)
    assert len(pinned) >= 5  # the seed-003 rows, the zoo RAN and ferplus_large's recipe


def test_each_shipped_model_has_one_recipe_with_pinned_teachers_and_its_card():
    """configs/shipped/<name>.yaml for every shipped model: it loads, links the model card and pins every teacher
    (and any starting point) by SHA-256, so the recipe names exactly the weights the shipped model learnt from."""
    from ferkit import pretrained

    repo = Path(__file__).resolve().parents[2]
    shipped = sorted(pretrained.available())
    assert shipped and sorted(p.stem for p in (repo / "configs" / "shipped").glob("*.yaml")) == shipped
    for name in shipped:
        path = repo / "configs" / "shipped" / f"{name}.yaml"
        cfg = load_config(path)
        assert f"src/ferkit/pretrained/{name}.md" in path.read_text(), f"{path.name} does not link its card"
        assert (repo / "src" / "ferkit" / "pretrained" / f"{name}.md").is_file()
        distill = cfg.loss.distill
        teachers = {*distill.teachers, *(t for ts in distill.aux_teachers.values() for t in ts)}
        assert set(distill.sha256) == teachers, f"{path.name}: teachers not pinned by SHA-256"
        assert all(len(d) == 64 for d in distill.sha256.values())
        if cfg.model.pretrained:
            assert cfg.model.pretrained_sha256, f"{path.name}: starting point not pinned"


def test_a_teacher_pin_that_does_not_match_is_refused(tmp_path, untrained_fer2013_model):
    from ferkit.models.weights import file_sha256

    digest = file_sha256(untrained_fer2013_model)
    path = tmp_path / "r.yaml"
    path.write_text(
        f"loss:\n  distill:\n    teachers: ['{untrained_fer2013_model}']\n"
        f"    sha256: {{'{untrained_fer2013_model}': {digest}}}\n"
    )
    assert load_config(path).loss.distill.sha256 == {str(untrained_fer2013_model): digest}
    path.write_text(path.read_text().replace(digest, "'" + "0" * 64 + "'"))
    with pytest.raises(ConfigError, match="loss.distill.sha256: teacher .* has SHA-256"):
        load_config(path)
    path.write_text(f"loss:\n  distill:\n    teachers: []\n    sha256: {{ferplus: {digest}}}\n")
    with pytest.raises(ConfigError, match="not one of the recipe's teachers"):
        load_config(path)
    path.write_text(
        f"loss:\n  distill:\n    teachers: ['{untrained_fer2013_model}']\n"
        f"    sha256: {{'{untrained_fer2013_model}': abc}}\n"
    )
    with pytest.raises(ConfigError, match="is not a SHA-256"):
        load_config(path)


def test_the_canonical_recipes_train_both_label_sets_from_one_file():
    """configs/ferplus.yaml and configs/fer2013.yaml (which inherits it) are the same joint run, and the dotted
    overrides still reach inherited keys."""
    repo = Path(__file__).resolve().parents[2]
    a, b = load_config(repo / "configs" / "ferplus.yaml"), load_config(repo / "configs" / "fer2013.yaml")
    assert a.to_dict() == b.to_dict() and a.data.aux_heads == ["fer2013"]
    c = load_config(repo / "configs" / "fer2013.yaml", ["data.mode=majority", "epochs=1"])
    assert c.data.mode == "majority" and c.epochs == 1 and c.model.name == a.model.name
