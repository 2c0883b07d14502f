"""Label vocabulary: canonical spellings, alignment by name, index remapping."""

import numpy as np
import pytest

from ferkit import labels as L


@pytest.mark.parametrize(
    "name, expected",
    [
        ("happy", "happiness"),
        ("Happiness", "happiness"),
        ("  SAD ", "sadness"),
        ("angry", "anger"),
        ("anger", "anger"),
        ("surprised", "surprise"),
        ("fearful", "fear"),
        ("NE", "neutral"),
        ("contempt", "contempt"),
        ("disgusted", "disgust"),
    ],
)
def test_canonical_synonyms(name, expected):
    assert L.canonical(name) == expected


def test_canonical_unknown_raises_keyerror_naming_label():
    with pytest.raises(KeyError, match="bored"):
        L.canonical("bored")


@pytest.mark.parametrize(
    "labels", [L.FER2013_LABELS, L.FERPLUS_LABELS, L.CKPLUS_LABELS, L.JAFFE_LABELS, L.RAFDB_LABELS, L.AFFECTNET_LABELS]
)
def test_dataset_label_lists_are_canonical_and_unique(labels):
    assert all(name in L.CANONICAL for name in labels)
    assert len(set(labels)) == len(labels)


def test_align_fer2013_to_ferplus():
    pairs = dict(L.align(L.FER2013_LABELS, L.FERPLUS_LABELS))
    assert len(pairs) == 7  # contempt exists only in FERPlus
    for i, j in pairs.items():
        assert L.FER2013_LABELS[i] == L.FERPLUS_LABELS[j]
    # alignment works on dataset spellings too
    assert L.align(["happy", "sad"], ["sadness", "happiness"]) == [(0, 1), (1, 0)]


def test_remap_indices_both_directions():
    fer = np.array([0, 3, 4, 6])  # anger, happiness, sadness, neutral in FER2013 order
    out = L.remap_indices(fer, L.FER2013_LABELS, L.FERPLUS_LABELS)
    assert [L.FERPLUS_LABELS[i] for i in out] == ["anger", "happiness", "sadness", "neutral"]
    contempt = L.FERPLUS_LABELS.index("contempt")
    back = L.remap_indices([contempt, 1], L.FERPLUS_LABELS, L.FER2013_LABELS)
    assert back[0] == -1 and L.FER2013_LABELS[back[1]] == "happiness"
    assert L.remap_indices(np.array([], np.int64), L.FER2013_LABELS, L.FERPLUS_LABELS).shape == (0,)


def test_remap_accepts_label_arrays_of_any_number_type():
    from ferkit.labels import FER2013_LABELS, FERPLUS_LABELS, remap_indices

    for labels in (np.array([3.0, 6.0]), np.array([3, 6], np.uint8), [3, 6]):
        out = remap_indices(labels, FER2013_LABELS, FERPLUS_LABELS)
        assert out.tolist() == [1, 0] and out.dtype == np.int64
