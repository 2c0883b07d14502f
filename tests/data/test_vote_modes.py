"""The FERPlus paper's training schemes on hand-made vote rows, against the rules of its code release
(microsoft/FERPlus src/ferplus.py): every expected value below is worked out by hand from those rules."""

from __future__ import annotations

import numpy as np
import pytest

from ferkit.data import ferplus, vote_modes

# columns: neutral happiness surprise sadness anger disgust fear contempt unknown NF
ROWS = np.array(
    [
        [6, 3, 1, 0, 0, 0, 0, 0, 0, 0],  # 0 the single surprise vote is noise; total 9
        [4, 4, 2, 0, 0, 0, 0, 0, 0, 0],  # 1 neutral/happiness tie, 8 of 10 votes
        [3, 3, 2, 2, 0, 0, 0, 0, 0, 0],  # 2 two ties: CEL takes 4 categories -> dropped; ML accepts the 3-vote pair
        [0, 5, 0, 0, 0, 0, 0, 0, 5, 0],  # 3 happiness tied with unknown (happiness first)
        [0, 3, 0, 0, 0, 0, 0, 0, 5, 2],  # 4 unknown strongest
        [2, 5, 0, 0, 0, 0, 0, 0, 3, 0],  # 5 unknown reached after happiness
        [3, 5, 0, 0, 0, 0, 0, 0, 2, 0],  # 6 neutral reached after happiness
        [4, 2, 2, 0, 0, 0, 0, 0, 0, 0],  # 7 ML: neutral alone holds exactly half -> dropped
        [4, 3, 3, 0, 0, 0, 0, 0, 0, 0],  # 8 three categories, 100% of the votes
        [0, 2, 0, 0, 0, 0, 0, 0, 4, 4],  # 9 unknown tied with not-a-face
        [0, 0, 0, 0, 0, 0, 2, 8, 0, 0],  # 10 contempt
    ],
    dtype=np.float32,
)
N, H, S, SAD, A, D, F, C = range(8)
EPS = 1e-3


def test_crossentropy_follows_the_release():
    targets, keep, hard = ferplus.process_votes(ROWS, "crossentropy")
    assert keep.tolist() == [True, True, False, False, False, False, True, True, True, False, True]
    np.testing.assert_allclose(targets[0], [2 / 3, 1 / 3, 0, 0, 0, 0, 0, 0])  # 6 < 75% of 9: happiness joins
    np.testing.assert_allclose(targets[1], [0.5, 0.5, 0, 0, 0, 0, 0, 0])  # both tied maxima at once
    np.testing.assert_allclose(targets[6], [3 / 8, 5 / 8, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(targets[7], [0.5, 0.25, 0.25, 0, 0, 0, 0, 0])  # 3 categories: the cap
    np.testing.assert_allclose(targets[8], [0.4, 0.3, 0.3, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(targets[10], np.eye(8)[C])  # 8 of 10 reach 75% alone
    assert targets[~keep].sum() == 0
    assert hard[1] == N and hard[0] == N and hard[3] == -1


def test_draw_uses_the_crossentropy_distribution():
    cel = ferplus.process_votes(ROWS, "crossentropy")
    pld = ferplus.process_votes(ROWS, "draw")
    for a, b in zip(cel, pld):
        np.testing.assert_array_equal(a, b)


def test_multi_target_follows_the_release():
    targets, keep, hard = ferplus.process_votes(ROWS, "multi_target")
    assert keep.tolist() == [True, True, True, True, False, True, True, False, True, False, True]
    expected = {
        0: [N, H],  # 3 >= 30% of 9
        1: [N, H],  # 2 < 30% of 10
        2: [N, H],  # 3 == 30% of 10 is accepted, 6 > 5 kept
        3: [H],  # unknown accepted too (10 > 5), but the emotion comes first in the tie
        5: [H],  # unknown's 3 votes count for the 50% rule; only happiness is trained on
        6: [N, H],
        8: [N, H, S],
        10: [C],
    }
    for row, accepted in expected.items():
        want = np.full(8, EPS)
        want[accepted] = 1.0
        np.testing.assert_allclose(targets[row], want, err_msg=f"row {row}")
    assert targets[~keep].sum() == 0
    assert hard[2] == N and hard[5] == H and hard[4] == -1


def test_majority_keeps_its_rule():
    _, keep, hard = ferplus.process_votes(ROWS, "majority")
    assert keep.tolist() == [True, False, False, False, False, False, False, False, False, False, True]
    assert hard[keep].tolist() == [N, C]  # row 6: 5 of 10 votes is not more than half


def test_rules_on_raw_rows_name_the_deciding_step():
    # the 50% rule counts reject votes in the total: 5 of 10 kept is not enough
    assert vote_modes.crossentropy_row(np.array([0, 5, 0, 0, 0, 0, 0, 0, 5, 0.0]), 8) is None
    # an emotion tied at the top with unknown wins the tie (first maximum) in the multi-target mode
    kept = vote_modes.multi_target_row(np.array([0, 5, 0, 0, 0, 0, 0, 0, 5, 0.0]), 8)
    assert kept is not None and kept[1] == 5 and kept[8] == 5
    assert vote_modes.multi_target_row(np.zeros(10), 8) is None
    # probability rows (no reject categories) work the same
    kept = vote_modes.crossentropy_row(np.array([0.5, 0.3, 0.2]), 3)
    np.testing.assert_allclose(kept, [0.5, 0.3, 0.0])


def test_accepted_emotions():
    accepted = vote_modes.accepted_emotions(ferplus.remove_outlier_votes(ROWS), 8)
    assert np.flatnonzero(accepted[0]).tolist() == [N, H]
    assert np.flatnonzero(accepted[4]).tolist() == [H]  # 3 of 10; unknown is not an emotion
    assert np.flatnonzero(accepted[10]).tolist() == [C]
    assert not vote_modes.accepted_emotions(np.zeros((1, 10)), 8).any()


@pytest.mark.parametrize("mode", ["multi_target", "draw"])
def test_modes_are_known(mode):
    assert mode in ferplus.MODES
