"""FER2013 reader: the real CSV (counts from the data README) and tiny hand-written CSVs for the edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from fer_fixtures import pixel_row, write_fer_csv

from ferkit.data import fer2013, load_dataset
from ferkit.errors import DatasetError
from ferkit.labels import FER2013_LABELS

TRAIN_COUNTS = {
    "anger": 3995,
    "disgust": 436,
    "fear": 4097,
    "happiness": 7215,
    "sadness": 4830,
    "surprise": 3171,
    "neutral": 4965,
}
PUBLIC_COUNTS = dict(zip(FER2013_LABELS, (467, 56, 496, 895, 653, 415, 607)))


# ---- real data ---------------------------------------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize("split, n, counts", [("train", 28709, TRAIN_COUNTS), ("PublicTest", 3589, PUBLIC_COUNTS)])
def test_real_split_sizes_and_class_counts(data_root, cache_dir, split, n, counts):
    ds = load_dataset("fer2013", split, data_root, cache=cache_dir, progress=False)
    assert len(ds) == n
    assert ds.images.shape == (n, 48, 48) and ds.images.dtype == np.uint8
    assert ds.labels == FER2013_LABELS
    assert dict(zip(ds.labels, ds.class_counts().tolist())) == counts
    rows = ds.extra["row"]
    assert np.all(np.diff(rows) > 0)  # file order kept


@pytest.mark.realdata
def test_real_split_aliases_and_withheld_private_test(data_root, cache_dir):
    val = load_dataset("fer2013", "val", data_root, cache=cache_dir, progress=False)
    assert val.split == "PublicTest" and len(val) == 3589
    with pytest.raises(DatasetError, match="PrivateTest"):
        load_dataset("fer2013", "test", data_root, cache=cache_dir, progress=False)


# ---- format fixtures ---------------------------------------------------------------------------------------
ROWS = [(3, 10, "Training"), (0, 20, "Training"), (6, 30, "PublicTest")]


@pytest.mark.parametrize("name", ["fer2013.csv", "fer2013.csv.gz"])
def test_plain_and_gzip_csv_are_read_identically(tmp_path, name):
    path = write_fer_csv(tmp_path / "fer2013" / name, ROWS)
    images, emotion, usage = fer2013.read_csv(path, progress=False)
    assert images.shape == (3, 48, 48) and images.dtype == np.uint8
    assert images[:, 0, 0].tolist() == [10, 20, 30]
    assert emotion.tolist() == [3, 0, 6] and usage.tolist() == ["Training", "Training", "PublicTest"]
    ds = load_dataset("fer2013", "train", tmp_path, cache=tmp_path / "cache", progress=False)
    assert len(ds) == 2 and ds.targets.tolist() == [3, 0] and ds.extra["row"].tolist() == [0, 1]
    again = load_dataset("fer2013", "train", tmp_path, cache=tmp_path / "cache", progress=False)  # from the cache
    np.testing.assert_array_equal(again.images, ds.images)


def test_find_csv_names_the_missing_file(tmp_path):
    with pytest.raises(DatasetError, match="fer2013.csv"):
        fer2013.find_csv(tmp_path)


def _garbled(tmp_path, bad_line: str, header: str = "emotion,pixels,Usage"):
    path = tmp_path / "fer2013.csv"
    path.write_text(f"{header}\n3,{pixel_row(5)},Training\n{bad_line}\n")
    return path


@pytest.mark.parametrize(
    "bad_line, message",
    [
        (f"3,{pixel_row(5, 2303)},Training", "2303 pixel values"),
        (f"3,{pixel_row(5)} x,Training", "non-integer"),
        (f"happy,{pixel_row(5)},Training", "not an integer"),
        (f"7,{pixel_row(5)},Training", "outside 0..6"),
        (f"3,{pixel_row(300)},Training", "outside 0..255"),
        ("3", "expected 3 columns"),
    ],
)
def test_garbled_rows_name_file_and_line(tmp_path, bad_line, message):
    path = _garbled(tmp_path, bad_line)
    with pytest.raises(DatasetError, match=message) as err:
        fer2013.read_csv(path, progress=False)
    assert f"{path}:3" in str(err.value)


def test_bad_header_names_file(tmp_path):
    path = _garbled(tmp_path, f"3,{pixel_row(5)},Training", header="label,image,split")
    with pytest.raises(DatasetError, match="header") as err:
        fer2013.read_csv(path, progress=False)
    assert str(path) in str(err.value)


def test_empty_and_corrupt_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("emotion,pixels,Usage\n")
    with pytest.raises(DatasetError, match="no data rows"):
        fer2013.read_csv(empty, progress=False)
    corrupt = tmp_path / "corrupt.csv.gz"
    corrupt.write_bytes(b"this is not gzip")
    with pytest.raises(DatasetError, match="cannot read"):
        fer2013.read_csv(corrupt, progress=False)


def test_unknown_dataset_split_and_option(tmp_path, monkeypatch):
    write_fer_csv(tmp_path / "fer2013.csv", ROWS)
    with pytest.raises(DatasetError, match="unknown dataset 'fer2014'"):
        load_dataset("fer2014", "train", tmp_path)
    with pytest.raises(DatasetError, match="unknown split 'holdout'"):
        load_dataset("fer2013", "holdout", tmp_path, cache=tmp_path / "cache", progress=False)
    with pytest.raises(DatasetError, match="unknown option.*colour"):
        load_dataset("fer2013", "train", tmp_path, cache=tmp_path / "cache", colour=True)
    monkeypatch.delenv("FERKIT_DATA", raising=False)
    with pytest.raises(DatasetError, match="no data root"):
        load_dataset("fer2013", "train", None, cache=tmp_path / "cache")
    with pytest.raises(DatasetError, match="not a directory"):
        load_dataset("fer2013", "train", tmp_path / "missing", cache=tmp_path / "cache")
