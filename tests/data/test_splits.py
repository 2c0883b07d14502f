"""Split names: every spelling a user may type maps to one FER2013 Usage value, checked on the names and on a
tiny CSV holding all three splits (the real file withholds PrivateTest, so only a fixture can show which rows
`test` selects); subject-independent folds and class-stratified subsets."""

from __future__ import annotations

import numpy as np
import pytest
from fer_fixtures import write_fer_csv, write_ferplus_csv

from ferkit.data import load_dataset
from ferkit.data.splits import FER_SPLITS, fer_split
from ferkit.data.subject_folds import assign_folds, split_names, split_rows
from ferkit.data.subsets import stratified_subset
from ferkit.errors import DatasetError

SPELLINGS = {
    "Training": ["Training", "training", "TRAIN", "train"],
    "PublicTest": ["PublicTest", "publictest", "public_test", "Public-Test", "public", "val", "VALID", "validation"],
    "PrivateTest": ["PrivateTest", "private_test", "private-test", "PRIVATE", "private", "test", "Test"],
}


@pytest.mark.parametrize("usage, spelling", [(u, s) for u, names in SPELLINGS.items() for s in names])
def test_each_spelling_names_one_split(usage, spelling):
    assert fer_split(spelling) == usage


def test_the_three_splits_in_file_order():
    assert FER_SPLITS == ("Training", "PublicTest", "PrivateTest")


@pytest.mark.parametrize("bad", ["holdout", "tests", "", "dev", "privat", "train2"])
def test_unknown_split_names_the_choices(bad):
    with pytest.raises(DatasetError) as err:
        fer_split(bad)
    message = str(err.value)
    assert message == f"unknown split {bad!r}; choose from Training, PublicTest, PrivateTest (or train/val/test)"


# rows: (emotion, constant pixel value, Usage); the pixel value tells the rows apart
ROWS = [
    (0, 10, "Training"),
    (1, 11, "Training"),
    (2, 20, "PublicTest"),
    (3, 30, "PrivateTest"),
    (4, 31, "PrivateTest"),
    (5, 21, "PublicTest"),
    (6, 12, "Training"),
]
EXPECTED = {"Training": [10, 11, 12], "PublicTest": [20, 21], "PrivateTest": [30, 31]}


@pytest.mark.parametrize(
    "spelling, usage",
    [("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest"), ("private", "PrivateTest")],
)
def test_loaders_select_the_rows_of_the_aliased_split(tmp_path, spelling, usage):
    write_fer_csv(tmp_path / "fer2013" / "fer2013.csv", ROWS)
    ds = load_dataset("fer2013", spelling, tmp_path, cache=tmp_path / "cache", progress=False)
    assert ds.split == usage
    assert ds.images[:, 0, 0].tolist() == EXPECTED[usage]
    assert ds.targets.tolist() == [e for e, _, u in ROWS if u == usage]


def test_ferplus_test_alias_selects_private_test_rows(tmp_path):
    write_fer_csv(tmp_path / "fer2013" / "fer2013.csv", ROWS)
    # one clear majority per row: row i votes for FERPlus emotion i % 8
    write_ferplus_csv(
        tmp_path / "ferplus" / "fer2013new.csv",
        [(u, [10 if j == i % 8 else 0 for j in range(10)]) for i, (_, _, u) in enumerate(ROWS)],
    )
    ds = load_dataset("ferplus", "test", tmp_path, cache=tmp_path / "cache", progress=False)
    assert ds.split == "PrivateTest"
    assert ds.extra["row"].tolist() == [3, 4] and ds.targets.tolist() == [3, 4]


def test_a_split_without_rows_names_the_splits_present(tmp_path):
    write_fer_csv(tmp_path / "fer2013.csv", [r for r in ROWS if r[2] != "PrivateTest"])  # as the real file
    with pytest.raises(DatasetError, match="'PrivateTest' has no rows.*PublicTest, Training"):
        load_dataset("fer2013", "test", tmp_path, cache=tmp_path / "cache", progress=False)


# ---- subject folds (CK+, JAFFE) and stratified subsets -------------------------------------------------------
def test_folds_of_distinct_sized_subjects_by_hand():
    # sizes 5, 4, 3, 2, 1 into 2 folds, largest first, each onto the fold it unbalances least:
    # 5 -> fold 0 (a tie: the first), 4 -> 1, 3 -> 1 (4 < 5), 2 -> 0 (7 > 5), 1 -> 0 (7 = 7: the first)
    subjects = np.repeat(["e", "d", "c", "b", "a"], [1, 2, 3, 4, 5])  # names sort the other way round
    fold = assign_folds(subjects, 2, seed=3)
    assert {s: int(fold[subjects == s][0]) for s in "abcde"} == {"a": 0, "b": 1, "c": 1, "d": 0, "e": 0}
    assert fold.dtype == np.int64 and fold.shape == subjects.shape


def test_folds_balance_classes_when_labels_are_given():
    # 8 one-image subjects, 4 of each class: with labels every fold gets 2 of each, whatever the seed
    subjects, labels = np.arange(8), np.array([0, 0, 0, 0, 1, 1, 1, 1])
    unbalanced = 0
    for seed in range(10):
        fold = assign_folds(subjects, 2, seed=seed, labels=labels)
        assert [np.bincount(labels[fold == f], minlength=2).tolist() for f in (0, 1)] == [[2, 2], [2, 2]]
        plain = assign_folds(subjects, 2, seed=seed)
        assert np.bincount(plain).tolist() == [4, 4]  # sizes are balanced either way
        unbalanced += np.bincount(labels[plain == 0], minlength=2).tolist() != [2, 2]
    assert unbalanced > 0  # without labels classes may pile up


def test_three_classes_over_three_folds():
    subjects = np.arange(9)
    labels = np.array([0, 1, 2] * 3)
    fold = assign_folds(subjects, 3, seed=5, labels=labels)
    assert all(sorted(labels[fold == f].tolist()) == [0, 1, 2] for f in range(3))


def test_fold_ties_follow_the_seed():
    subjects = np.repeat(np.arange(6), 2)  # six subjects of two images each
    folds = {tuple(assign_folds(subjects, 3, seed=s)) for s in range(6)}
    assert len(folds) > 1  # the seed shuffles who goes where
    assert (assign_folds(subjects, 3, seed=2) == assign_folds(subjects, 3, seed=2)).all()
    assert all(np.bincount(np.array(f)).tolist() == [4, 4, 4] for f in folds)


def test_fold_count_must_fit_the_subjects():
    subjects = np.array(["a", "b", "c"])
    assert sorted(assign_folds(subjects, 3).tolist()) == [0, 1, 2]
    for folds in (1, 4):
        with pytest.raises(DatasetError, match=f"folds={folds} must be between 2 and the number of subjects \\(3\\)"):
            assign_folds(subjects, folds)


def test_split_rows_and_names():
    fold = np.array([0, 1, 2, 1, 0])
    assert split_rows("all", fold, 3, "toy").tolist() == [0, 1, 2, 3, 4]
    assert split_rows(" ALL ", fold, 3, "toy").tolist() == [0, 1, 2, 3, 4]
    assert split_rows("fold1", fold, 3, "toy").tolist() == [1, 3]
    assert split_rows("Test1", fold, 3, "toy").tolist() == [1, 3]
    assert split_rows("train1", fold, 3, "toy").tolist() == [0, 2, 4]
    assert split_rows("fold2", fold, 3, "toy").tolist() == [2]
    with pytest.raises(DatasetError) as err:
        split_rows("fold", fold, 3, "toy")
    assert str(err.value) == (
        "toy: unknown split 'fold'; use 'all', 'fold<k>' (test fold k) or 'train<k>' (the other folds), k in 0..2"
    )
    with pytest.raises(DatasetError) as err:
        split_rows("train3", fold, 3, "toy")
    assert str(err.value) == "toy: split 'train3' asks for fold 3 but folds=3 (k in 0..2)"
    assert split_names(2) == ["all", "fold0", "fold1", "train0", "train1"]


def test_stratified_subset_keeps_class_shares():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    assert stratified_subset(labels, None, 0) is None and stratified_subset(labels, 100, 0) is None
    assert stratified_subset(labels, 500, 0) is None
    for seed in range(5):
        rows = stratified_subset(labels, 20, seed)
        assert len(rows) == 20 and len(set(rows.tolist())) == 20 and (np.diff(rows) > 0).all()
        counts = np.bincount(labels[rows], minlength=3)
        assert all(abs(c - share) <= 1 for c, share in zip(counts, (12, 6, 2))), counts
    assert (stratified_subset(labels, 20, 1) == stratified_subset(labels, 20, 1)).all()
    assert not (stratified_subset(labels, 20, 1) == stratified_subset(labels, 20, 2)).all()
    assert stratified_subset(labels, 99, 0).tolist() != list(range(99))  # not just the first rows


def greedy_folds_by_the_rule(subjects, folds, seed, labels):
    """The rule assign_folds documents, written out: subjects shuffled with ``seed`` (np.unique order), taken
    largest first (ties in shuffled order), each onto the first fold where the sum of squared fold shares of
    all images plus squared fold shares of each class grows least."""
    names, inverse = np.unique(subjects, return_inverse=True)
    n_classes = labels.max() + 1
    per_subject = np.array([np.bincount(labels[inverse == s], minlength=n_classes) for s in range(len(names))])
    class_total, total = per_subject.sum(0), per_subject.sum()
    shuffled = np.random.default_rng(seed).permutation(len(names))
    order = sorted(shuffled, key=lambda s: -per_subject[s].sum())  # sorted() is stable

    def spread(load):  # per fold: its squared share of all images plus its squared share of each class
        return (load.sum(1) / total) ** 2 + ((load / np.maximum(class_total, 1)) ** 2).sum(1)

    load, fold_of = np.zeros((folds, n_classes)), {}
    for s in order:
        growth = spread(load + per_subject[s]) - spread(load)  # how much each fold's term grows with s on it
        fold_of[s] = int(np.argmin(growth))
        load[fold_of[s]] += per_subject[s]
    return np.array([fold_of[s] for s in inverse])


@pytest.mark.parametrize("case", range(6))
def test_folds_follow_the_documented_greedy_rule(case):
    rng = np.random.default_rng(100 + case)
    n_subjects = 24 if case < 3 else 9  # 24: more than 16 subjects, where a non-stable sort differs
    sizes = rng.integers(1, 4 if case % 2 else 9, n_subjects)  # many ties in odd cases
    subjects = np.repeat([f"s{i:02d}" for i in range(n_subjects)], sizes)
    labels = rng.integers(0, 3, len(subjects))
    labels[0] = 3  # a class with a single image
    folds = 3 + case % 2
    expected = greedy_folds_by_the_rule(subjects, folds, case, labels)
    assert (assign_folds(subjects, folds, seed=case, labels=labels) == expected).all()
    assert (assign_folds(subjects, folds, seed=case, labels=labels.astype(float)) == expected).all()
    unlabelled = greedy_folds_by_the_rule(subjects, folds, 0, np.zeros(len(subjects), np.int64))
    assert (assign_folds(subjects, folds) == unlabelled).all()  # seed 0 by default
