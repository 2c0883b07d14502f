"""FERPlus votes: the label modes on hand-made vote rows, the join by row position, and the real file."""

from __future__ import annotations

import numpy as np
import pytest
from fer_fixtures import write_fer_csv, write_ferplus_csv

from ferkit.data import ferplus, load_dataset
from ferkit.errors import DatasetError
from ferkit.labels import FER2013_LABELS, FERPLUS_LABELS, remap_indices

# columns: neutral happiness surprise sadness anger disgust fear contempt unknown NF
VOTES = np.array(
    [
        [6, 2, 0, 0, 1, 0, 0, 0, 1, 0],  # 0 clear neutral; the single anger/unknown votes are noise
        [4, 4, 1, 0, 0, 0, 0, 0, 1, 0],  # 1 neutral/happiness tie: no majority
        [0, 0, 0, 0, 0, 0, 0, 0, 2, 8],  # 2 not a face -> dropped everywhere
        [3, 0, 0, 0, 0, 0, 0, 0, 7, 0],  # 3 mostly unknown -> dropped everywhere
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # 4 only single votes: nothing survives -> dropped
        [3, 3, 2, 2, 0, 0, 0, 0, 0, 0],  # 5 spread: no majority; multi-label keeps the top 3
        [2, 2, 2, 2, 2, 2, 2, 0, 0, 0],  # 6 top 3 hold <= half the votes -> multi-label drops it
        [0, 0, 0, 0, 0, 0, 2, 8, 0, 0],  # 7 contempt majority
    ],
    dtype=np.float32,
)
N, H, S, SAD, A, D, F, C = range(8)


def test_outlier_removal_zeroes_single_votes_only():
    cleaned = ferplus.remove_outlier_votes(VOTES)
    np.testing.assert_array_equal(cleaned[0], [6, 2, 0, 0, 0, 0, 0, 0, 0, 0])
    assert cleaned[4].sum() == 0
    np.testing.assert_array_equal(cleaned[5], VOTES[5])


def test_majority_mode():
    targets, keep, hard = ferplus.process_votes(VOTES, "majority")
    assert keep.tolist() == [True, False, False, False, False, False, False, True]
    assert hard.tolist() == [N, -1, -1, -1, -1, -1, -1, C]
    np.testing.assert_array_equal(targets[0], np.eye(8)[N])
    np.testing.assert_array_equal(targets[7], np.eye(8)[C])
    assert targets[~keep].sum() == 0


def test_probability_mode():
    targets, keep, hard = ferplus.process_votes(VOTES, "probability")
    assert keep.tolist() == [True, True, False, False, False, True, True, True]
    np.testing.assert_allclose(targets[0], [0.75, 0.25, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(targets[1], [0.5, 0.5, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(targets[5], [0.3, 0.3, 0.2, 0.2, 0, 0, 0, 0])
    np.testing.assert_allclose(targets[7], [0, 0, 0, 0, 0, 0, 0.2, 0.8])
    np.testing.assert_allclose(targets[keep].sum(1), 1, rtol=1e-6)
    # no majority: evaluation falls back to the top emotion (first of a tie)
    assert hard.tolist() == [N, N, -1, -1, -1, N, N, C]


def test_crossentropy_mode():
    targets, keep, hard = ferplus.process_votes(VOTES, "crossentropy")
    assert keep.tolist() == [True, True, False, False, False, False, False, True]
    np.testing.assert_allclose(targets[0], np.eye(8)[N])  # 6 of 8 votes reach 75% alone
    np.testing.assert_allclose(targets[1], [0.5, 0.5, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(targets[7], np.eye(8)[C])  # 8 of 10 votes reach 75% alone
    # the code release takes every category tied at the maximum at once: row 5 reaches 4 categories (3, 3, then
    # the 2-2 tie) and row 6 seven, more than 3 -> both dropped (tests/data/test_vote_modes.py has the rest)
    assert hard[6] == -1 and hard[5] == -1


def test_unknown_mode():
    with pytest.raises(DatasetError, match="unknown FERPlus label mode 'vote'") as err:
        ferplus.process_votes(VOTES, "vote")
    assert str(err.value).endswith("choose from " + ", ".join(ferplus.MODES))


@pytest.mark.parametrize("mode", ["majority", "probability", "crossentropy"])
def test_outputs_have_fixed_types(mode):
    targets, keep, hard = ferplus.process_votes(VOTES.astype(np.float64), mode)
    assert targets.dtype == np.float32 and keep.dtype == bool and hard.dtype == np.int64


# ---- join by row position ----------------------------------------------------------------------------------
def _tiny_root(tmp_path, ferplus_usages=None):
    """FER2013 rows whose pixel value identifies the row, and FERPlus votes row-aligned with them."""
    usages = ["Training", "Training", "Training", "PublicTest"]
    write_fer_csv(tmp_path / "fer2013" / "fer2013.csv", [(3, 10 * i, u) for i, u in enumerate(usages)])
    votes = [
        [0, 10, 0, 0, 0, 0, 0, 0, 0, 0],  # happiness
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # NF: dropped
        [0, 0, 0, 0, 9, 1, 0, 0, 0, 0],  # anger
        [8, 2, 0, 0, 0, 0, 0, 0, 0, 0],
    ]  # neutral
    write_ferplus_csv(tmp_path / "ferplus" / "fer2013new.csv", list(zip(ferplus_usages or usages, votes)))
    return tmp_path


def test_join_by_row_position(tmp_path):
    root = _tiny_root(tmp_path)
    ds = load_dataset("ferplus", "train", root, cache=tmp_path / "cache", progress=False)
    assert ds.extra["row"].tolist() == [0, 2]
    assert ds.images[:, 0, 0].tolist() == [0, 20]  # pixels of FER2013 rows 0 and 2
    assert [FERPLUS_LABELS[t] for t in ds.targets] == ["happiness", "anger"]
    assert ds.extra["fer2013"].tolist() == [3, 3]
    full = load_dataset("ferplus", "train", root, cache=tmp_path / "cache", progress=False, keep_all=True)
    assert full.extra["hard"].tolist() == [H, -1, A]
    soft = load_dataset("ferplus", "val", root, cache=tmp_path / "cache", progress=False, mode="probability")
    assert soft.soft and soft.targets.shape == (1, 8) and soft.hard_labels.tolist() == [N]


def test_misaligned_usage_is_reported(tmp_path):
    root = _tiny_root(tmp_path, ferplus_usages=["Training", "Training", "PublicTest", "PublicTest"])
    with pytest.raises(DatasetError, match="FERPlus row 4 has Usage 'PublicTest'.*not aligned"):
        load_dataset("ferplus", "train", root, cache=tmp_path / "cache", progress=False)


def test_row_count_mismatch_is_reported(tmp_path):
    root = _tiny_root(tmp_path)
    write_ferplus_csv(root / "ferplus" / "fer2013new.csv", [("Training", [0, 10] + [0] * 8)])
    with pytest.raises(DatasetError, match="FERPlus has 1 rows but FER2013 has 4"):
        load_dataset("ferplus", "train", root, cache=tmp_path / "cache", progress=False)


@pytest.mark.parametrize(
    "text, message",
    [
        ("Usage,Image name\n", "expected header"),
        (
            "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
            "Training,fer0.png,1,2\n",
            r":2: expected 12 columns",
        ),
        (
            "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
            "Training,fer0.png,1,x,0,0,0,0,0,0,0,0\n",
            r":2: vote columns must be numbers",
        ),
    ],
)
def test_garbled_vote_file(tmp_path, text, message):
    path = tmp_path / "fer2013new.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message) as err:
        ferplus.read_votes(path)
    assert str(path) in str(err.value)


def test_vote_file_reading_details(tmp_path):
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    path = tmp_path / "fer2013new.csv"
    path.write_text(header + "Training,fer0.png,1,2,3,4,0,0,0,0,0,0,\n")  # a trailing comma: an empty 13th field
    votes, usage = ferplus.read_votes(path)
    assert votes.dtype == np.float32 and votes.tolist() == [[1, 2, 3, 4, 0, 0, 0, 0, 0, 0]]
    assert usage.tolist() == ["Training"]
    path.write_text(header + "Training,fer0.png,1,2,3,4,5,6,7,8,9,x,extra\n")
    with pytest.raises(DatasetError) as err:
        ferplus.read_votes(path)
    expected = ":2: vote columns must be numbers: ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'x']"
    assert str(err.value).endswith(expected)
    path.write_text("")
    with pytest.raises(DatasetError, match="expected header .* got None"):
        ferplus.read_votes(path)
    with pytest.raises(DatasetError, match="cannot read") as err:
        ferplus.read_votes(tmp_path)  # a folder, not a file
    assert str(tmp_path) in str(err.value)


def test_find_csv_names_both_places(tmp_path):
    with pytest.raises(DatasetError) as err:
        ferplus.find_csv(tmp_path)
    assert str(err.value) == (
        f"FERPlus votes not found under {str(tmp_path)!r}: expected ferplus/fer2013new.csv or fer2013new.csv"
    )
    (tmp_path / "fer2013new.csv").write_text("")
    assert ferplus.find_csv(tmp_path) == tmp_path / "fer2013new.csv"


def test_missing_vote_file_and_bad_mode(tmp_path):
    write_fer_csv(tmp_path / "fer2013.csv", [(3, 1, "Training")])
    with pytest.raises(DatasetError, match="fer2013new.csv"):
        load_dataset("ferplus", "train", tmp_path, cache=tmp_path / "cache", progress=False)
    root = _tiny_root(tmp_path / "ok")
    with pytest.raises(DatasetError, match="unknown FERPlus label mode"):
        load_dataset("ferplus", "train", root, cache=tmp_path / "cache", progress=False, mode="soft")


# ---- real data ---------------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_real_ferplus_joins_fer2013(data_root, cache_dir):
    votes, usage = ferplus.read_votes(ferplus.find_csv(data_root))
    assert votes.shape == (32298, 10)
    assert (usage == "Training").sum() == 28709 and (usage == "PublicTest").sum() == 3589
    ds = load_dataset("ferplus", "train", data_root, cache=cache_dir, progress=False, keep_all=True)
    assert len(ds) == 28709 and ds.labels == FERPLUS_LABELS
    # rows voted entirely not-a-face are never kept
    assert (ds.extra["hard"][ds.extra["votes"][:, 9] == 10] == -1).all()
    # the join is right if FERPlus majority labels mostly agree with the original FER2013 labels
    fer_in_plus = remap_indices(ds.extra["fer2013"], FER2013_LABELS, FERPLUS_LABELS)
    labelled = ds.extra["hard"] >= 0
    agreement = (fer_in_plus[labelled] == ds.extra["hard"][labelled]).mean()
    assert agreement > 0.6, agreement


@pytest.mark.realdata
@pytest.mark.parametrize("mode", ["majority", "probability", "crossentropy"])
def test_real_modes(data_root, cache_dir, mode):
    ds = load_dataset("ferplus", "PublicTest", data_root, cache=cache_dir, progress=False, mode=mode)
    assert 3000 < len(ds) <= 3589
    assert (ds.hard_labels >= 0).all() and ds.hard_labels.max() < 8
    if mode != "majority":
        np.testing.assert_allclose(ds.targets.sum(1), 1, rtol=1e-5)
