"""Split names: every spelling a user may type maps to one FER2013 Usage value, checked on the names and on a
tiny CSV holding all three splits (the real file withholds PrivateTest, so only a fixture can show which rows
`test` selects)."""
from __future__ import annotations

import pytest

from ferkit.data import load_dataset
from ferkit.data.splits import FER_SPLITS, fer_split
from ferkit.errors import DatasetError

from fer_fixtures import write_fer_csv, write_ferplus_csv

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
    assert repr(bad) in message and all(s in message for s in FER_SPLITS) and "train/val/test" in message


# rows: (emotion, constant pixel value, Usage); the pixel value tells the rows apart
ROWS = [(0, 10, "Training"), (1, 11, "Training"), (2, 20, "PublicTest"), (3, 30, "PrivateTest"),
        (4, 31, "PrivateTest"), (5, 21, "PublicTest"), (6, 12, "Training")]
EXPECTED = {"Training": [10, 11, 12], "PublicTest": [20, 21], "PrivateTest": [30, 31]}


@pytest.mark.parametrize("spelling, usage", [("train", "Training"), ("val", "PublicTest"),
                                             ("test", "PrivateTest"), ("private", "PrivateTest")])
def test_loaders_select_the_rows_of_the_aliased_split(tmp_path, spelling, usage):
    write_fer_csv(tmp_path / "fer2013" / "fer2013.csv", ROWS)
    ds = load_dataset("fer2013", spelling, tmp_path, cache=tmp_path / "cache", progress=False)
    assert ds.split == usage
    assert ds.images[:, 0, 0].tolist() == EXPECTED[usage]
    assert ds.targets.tolist() == [e for e, _, u in ROWS if u == usage]


def test_ferplus_test_alias_selects_private_test_rows(tmp_path):
    write_fer_csv(tmp_path / "fer2013" / "fer2013.csv", ROWS)
    # one clear majority per row: row i votes for FERPlus emotion i % 8
    write_ferplus_csv(tmp_path / "ferplus" / "fer2013new.csv",
                      [(u, [10 if j == i % 8 else 0 for j in range(10)]) for i, (_, _, u) in enumerate(ROWS)])
    ds = load_dataset("ferplus", "test", tmp_path, cache=tmp_path / "cache", progress=False)
    assert ds.split == "PrivateTest"
    assert ds.extra["row"].tolist() == [3, 4] and ds.targets.tolist() == [3, 4]


def test_a_split_without_rows_names_the_splits_present(tmp_path):
    write_fer_csv(tmp_path / "fer2013.csv", [r for r in ROWS if r[2] != "PrivateTest"])   # as the real file
    with pytest.raises(DatasetError, match="'PrivateTest' has no rows.*PublicTest, Training"):
        load_dataset("fer2013", "test", tmp_path, cache=tmp_path / "cache", progress=False)
