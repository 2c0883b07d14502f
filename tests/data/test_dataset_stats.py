"""Dataset statistics (pure functions), subject folds, and the `ferkit stats` / `ferkit prepare` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ferkit.cli.main import main
from ferkit.data.base import ArrayDataset
from ferkit.data.stats import (
    class_distribution,
    constant_images,
    dataset_stats,
    duplicate_groups,
    format_stats,
    pixel_hashes,
    summarise_duplicates,
)
from ferkit.data.subject_folds import assign_folds, split_rows
from ferkit.errors import DatasetError


def _ds(images, targets, split):
    return ArrayDataset(
        images=np.asarray(images, np.uint8),
        targets=np.asarray(targets),
        labels=("a", "b", "c"),
        name="toy",
        split=split,
        extra={"row": np.arange(len(targets)) + (100 if split == "test" else 0)},
    )


def _images(values):
    """Image v is the same random image in every call (seeded by v); -1 is all black."""
    return np.stack(
        [
            np.zeros((4, 4), np.uint8) if v < 0 else np.random.default_rng(v).integers(1, 256, (4, 4), dtype=np.uint8)
            for v in values
        ]
    )


def test_class_distribution_counts_unlabelled():
    assert class_distribution(np.array([0, 2, 2, -1]), ("a", "b", "c")) == {"a": 1, "b": 0, "c": 2, "(none)": 1}
    assert class_distribution(np.array([1]), ("a", "b")) == {"a": 0, "b": 1}


def test_duplicates_within_and_across_splits():
    train = _images([1, 2, 1, 3, -1, -1])  # 1 twice, two black images
    test = _images([2, 4, 5])  # 2 also in train
    hashes = {"train": pixel_hashes(train), "test": pixel_hashes(test)}
    groups = duplicate_groups(hashes)
    members = sorted(sorted(g.members) for g in groups)
    assert members == [[("test", 0), ("train", 1)], [("train", 0), ("train", 2)], [("train", 4), ("train", 5)]]
    summary = summarise_duplicates(groups, {"train": np.array([0, 1, 0, 2, 1, 1]), "test": np.array([2, 0, 0])})
    assert summary == {
        "groups": 3,
        "images": 6,
        "redundant_copies": 3,
        "within_split_groups": {"train": 2},
        "cross_split_groups": 1,
        "label_conflict_groups": 1,
    }
    # same bytes but a different shape is not a duplicate
    assert (
        len(
            duplicate_groups(
                {"x": pixel_hashes(np.zeros((1, 2, 8), np.uint8)), "y": pixel_hashes(np.zeros((1, 4, 4), np.uint8))}
            )
        )
        == 0
    )


def test_constant_and_black_images():
    images = np.stack([np.zeros((3, 3)), np.full((3, 3), 7), np.eye(3) * 255]).astype(np.uint8)
    const, black = constant_images(images)
    assert const.tolist() == [0, 1] and black.tolist() == [0]


def test_dataset_stats_and_table():
    splits = {"train": _ds(_images([1, 1, -1]), [0, 1, 2], "train"), "test": _ds(_images([1, 4]), [0, 0], "test")}
    stats = dataset_stats(splits)
    assert stats["splits"]["train"]["all_black"] == 1 and stats["splits"]["test"]["all_black"] == 0
    assert stats["duplicates"]["cross_split_groups"] == 1 and stats["duplicates"]["label_conflict_groups"] == 1
    assert stats["duplicate_groups"][0] == ["train: row 0", "train: row 1", "test: row 100"]
    json.dumps(stats)
    table = format_stats("toy", stats)
    assert "groups spanning splits: 1" in table and "train" in table


def test_assign_folds_keeps_subjects_together():
    subjects = np.repeat(np.arange(20), np.arange(1, 21))  # very uneven subjects
    labels = np.arange(len(subjects)) % 3
    fold = assign_folds(subjects, 4, seed=1, labels=labels)
    for s in range(20):
        assert len(set(fold[subjects == s])) == 1
    sizes = np.bincount(fold)
    assert sizes.max() - sizes.min() <= 20
    assert (assign_folds(subjects, 4, seed=1, labels=labels) == fold).all()
    assert split_rows("train2", fold, 4, "toy").size + split_rows("fold2", fold, 4, "toy").size == len(subjects)
    with pytest.raises(DatasetError, match="between 2 and the number of subjects"):
        assign_folds(subjects, 21)
    with pytest.raises(DatasetError, match="k in 0..3"):
        split_rows("fold4", fold, 4, "toy")


# ---- CLI ---------------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_stats_command_on_ckplus(data_root, cache_dir, tmp_path, capsys):
    out = tmp_path / "stats.json"
    assert (
        main(
            [
                "stats",
                "--dataset",
                "ckplus",
                "--data-root",
                str(data_root),
                "--cache",
                str(cache_dir),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "class distribution" in text and "fold9" in text
    stats = json.loads(out.read_text())
    assert sum(s["images"] for s in stats["splits"].values()) == 981
    assert stats["duplicates"]["groups"] == 0


@pytest.mark.realdata
def test_stats_on_fer2013_finds_known_defects(data_root, cache_dir, tmp_path, capsys):
    out = tmp_path / "fer.json"
    assert (
        main(
            [
                "stats",
                "--dataset",
                "fer2013",
                "--data-root",
                str(data_root),
                "--cache",
                str(cache_dir),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    stats = json.loads(out.read_text())
    assert sum(s["all_black"] for s in stats["splits"].values()) == 12  # data README: 12 all-black images
    d = stats["duplicates"]
    assert 1000 < d["groups"] < 2000 and d["cross_split_groups"] > 0  # README: ~1,500 duplicate groups


def test_prepare_command_on_image_folder(tmp_path, capsys):
    from PIL import Image

    for split in ("train", "test"):
        for label in ("happy", "sad"):
            d = tmp_path / "data" / split / label
            d.mkdir(parents=True)
            Image.fromarray(np.full((10, 10), 50, np.uint8)).save(d / "a.png")
    args = [
        "prepare",
        "--dataset",
        "imagefolder",
        "--data-root",
        str(tmp_path / "data"),
        "--cache",
        str(tmp_path / "cache"),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert f"cache {tmp_path / 'cache'}" in text and "train" in text and "total" in text
    assert list((tmp_path / "cache").glob("imagefolder-*/images.npy"))
    assert main(["prepare", "--dataset", "nope", "--data-root", str(tmp_path)]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err
    assert main(args + ["-o", "size"]) == 2
