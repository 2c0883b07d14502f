"""CK+48 on the real data: counts from the data README and subject-independent folds."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data import load_dataset
from ferkit.errors import DatasetError

pytestmark = pytest.mark.realdata

COUNTS = {"anger": 135, "contempt": 54, "disgust": 177, "fear": 75, "happiness": 207, "sadness": 84, "surprise": 249}


@pytest.fixture(scope="module")
def ck(data_root, cache_dir):
    def load(split="all", **options):
        return load_dataset("ckplus", split, data_root, cache=cache_dir, progress=False, **options)

    return load


def test_all_images_and_class_counts(ck):
    ds = ck()
    assert len(ds) == 981
    assert ds.images.shape == (981, 48, 48) and ds.images.dtype == np.uint8
    assert dict(zip(ds.labels, ds.class_counts().tolist())) == COUNTS
    assert len(set(ds.extra["subject"])) == 118
    assert len(set(zip(ds.extra["subject"], ds.extra["sequence"]))) == 327


def test_folds_are_subject_independent_and_balanced(ck):
    everything = ck()
    fold, subject = everything.extra["fold"], everything.extra["subject"]
    assert set(fold.tolist()) == set(range(10))
    for s in set(subject.tolist()):  # never split a subject
        assert len(set(fold[subject == s].tolist())) == 1
    sizes = np.bincount(fold, minlength=10)
    assert sizes.sum() == 981 and sizes.max() - sizes.min() <= 0.1 * 981 / 10, sizes
    for k in range(10):  # every class appears in every test fold
        assert (np.bincount(everything.targets[fold == k], minlength=7) > 0).all()
    for k in (0, 9):  # the split names select exactly those rows
        test, train = ck(f"fold{k}"), ck(f"train{k}")
        assert sorted(test.extra["file"].tolist()) == sorted(everything.extra["file"][fold == k].tolist())
        assert len(test) + len(train) == 981
        assert not set(test.extra["subject"]) & set(train.extra["subject"])


def test_seed_and_fold_count_options(ck):
    a, b = ck("fold0", seed=0), ck("fold0", seed=1)
    assert set(a.extra["subject"]) != set(b.extra["subject"])
    five = [ck(f"fold{k}", folds=5) for k in range(5)]
    assert sum(len(f) for f in five) == 981
    assert ck("fold0", seed=0).extra["file"].tolist() == a.extra["file"].tolist()  # deterministic


def test_size_option(ck):
    ds = ck("fold1", size=32)
    assert ds.images.shape[1:] == (32, 32) and ds.images.dtype == np.uint8


@pytest.mark.parametrize(
    "split, options, message",
    [
        ("fold10", {}, "folds=10"),
        ("validation", {}, "unknown split"),
        ("all", {"folds": 1}, "between 2"),
        ("all", {"colour": True}, "unknown option"),
        ("all", {"size": 0}, "size must be"),
    ],
)
def test_bad_splits_and_options(ck, split, options, message):
    with pytest.raises(DatasetError, match=message):
        ck(split, **options)


def test_missing_folder_is_named(tmp_path):
    (tmp_path / "ckplus" / "CK+48" / "anger").mkdir(parents=True)
    with pytest.raises(DatasetError, match="CK\\+48 not found.*contempt"):
        load_dataset("ckplus", "all", tmp_path, cache=False)
