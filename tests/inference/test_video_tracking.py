"""Identities on a real clip: video_01.mp4 (5 people, 90 frames, a hand-held camera that pans).

WHO_IS_WHERE was checked by eye on the frames (saved as PNG with a pixel grid): the centre of each person's
face at 11 frames. People, left to right: A woman with long hair, B young man, C blonde woman, D man with a
turban and mask, E man holding up a phone (his face partly hidden by it)."""

from __future__ import annotations

import pytest

from ferkit.inference.results import summarise_tracks

WHO_IS_WHERE = {
    0: [(121, 123), (261, 159), (333, 192), (420, 182), (518, 154)],
    10: [(125, 138), (260, 168), (330, 196), (418, 193), (509, 159)],
    20: [(113, 157), (243, 185), (314, 221), (401, 203), (488, 179)],
    30: [(121, 200), (243, 229), (313, 260), (397, 247), (484, 218)],
    40: [(129, 183), (250, 208), (324, 240), (406, 235), (489, 206)],
    45: [(129, 177), (253, 206), (326, 238), (403, 228), (490, 205)],
    50: [(127, 179), (253, 206), (324, 239), (402, 228), (490, 205)],
    60: [(130, 173), (257, 201), (329, 233), (408, 226), (501, 193)],
    70: [(125, 169), (257, 199), (329, 230), (408, 222), (500, 192)],
    80: [(123, 169), (255, 199), (328, 225), (401, 220), (497, 191)],
    89: [(124, 169), (259, 199), (329, 226), (406, 220), (499, 184)],
}


def tracking_errors(frames) -> dict:
    """Per person, the track ids found at their face centre over the checked frames -> ID switches (a person's
    id changes), merges (one id on two people) and misses (no tracked face there)."""
    by_frame = {f.frame: f for f in frames}
    seen: dict[int, list] = {p: [] for p in range(5)}
    for index, centres in WHO_IS_WHERE.items():
        for person, (x, y) in enumerate(centres):
            ids = [f.track_id for f in by_frame[index].faces if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]]
            seen[person].append(ids[0] if ids else None)
    switches = sum(
        sum(1 for a, b in zip(ids, ids[1:]) if a and b and a != b)
        for ids in ({p: [i for i in s if i] for p, s in seen.items()}.values())
    )
    owners: dict[int, set] = {}
    for person, ids in seen.items():
        for i in ids:
            if i is not None:
                owners.setdefault(i, set()).add(person)
    return {
        "switches": switches,
        "merges": sum(len(o) > 1 for o in owners.values()),
        "misses": sum(i is None for ids in seen.values() for i in ids),
        "seen": seen,
    }


@pytest.fixture(scope="module")
def video_01(samples_dir):
    return samples_dir / "video" / "video_01.mp4"


@pytest.mark.slow
@pytest.mark.parametrize("detect_every", [1, 3])
def test_video_01_keeps_five_identities(recognizer, video_01, detect_every):
    frames = list(recognizer.predict_video(video_01, detect_every=detect_every))
    assert len(frames) == 90
    tracks = summarise_tracks(frames)
    assert len(tracks) <= 7, [t.to_dict() for t in tracks]  # was 16 with the greedy IoU tracker
    assert all(t.frames >= 3 for t in tracks)
    errors = tracking_errors(frames)
    assert errors["switches"] == 0 and errors["merges"] == 0, errors
    # of 55 person-frames checked; the few misses are frames where the detector scores the face below 0.5
    # before its track exists (D at frame 0) or after a long run of weak scores (D at 45-50, E at 30)
    assert errors["misses"] <= 5, errors
    assert len({i for ids in errors["seen"].values() for i in ids if i}) == 5
