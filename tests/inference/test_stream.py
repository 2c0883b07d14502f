"""EmotionRecognizer.stream(): the one per-frame door that predict_video, the CLI and the live socket share."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ferkit.inference.results import FrameResult
from ferkit.media.video import VideoSource


@pytest.fixture(scope="module")
def clip_frames(short_clip):
    return [rgb for _, _, rgb in VideoSource(short_clip)]


def test_step_matches_predict_video(recognizer, clip_results, clip_frames):
    stream = recognizer.stream()
    stepped = [stream.step(rgb) for rgb in clip_frames]
    video = clip_results
    assert all(isinstance(r, FrameResult) for r in stepped) and len(stepped) == len(video) == 12
    for a, b in zip(stepped, video):
        assert [f.track_id for f in a.faces] == [f.track_id for f in b.faces]
        assert [f.label for f in a.faces] == [f.label for f in b.faces]
        for fa, fb in zip(a.faces, b.faces):
            assert np.allclose(fa.box, fb.box) and fa.probabilities == pytest.approx(fb.probabilities, abs=1e-5)


def test_reset_starts_afresh_and_streams_are_independent(recognizer, clip_frames):
    a, b = recognizer.stream(), recognizer.stream()
    for rgb in clip_frames[:4]:
        a.step(rgb)
    ids_a = {f.track_id for f in a.step(clip_frames[4]).faces} - {None}
    assert ids_a and b.step(clip_frames[0]).frame == 0  # b has its own tracks and frame count
    a.reset()
    first = a.step(clip_frames[0])
    assert first.frame == 0 and {f.track_id for f in first.faces} == {None}  # tentative again
    a.step(clip_frames[1])
    third = a.step(clip_frames[2])
    assert min(f.track_id for f in third.faces if f.track_id) == 1
    # confirmation gives the id to the faces of the tentative frames too
    assert {f.track_id for f in first.faces} - {None} == {f.track_id for f in third.faces} - {None}


def test_detect_every_carries_faces_between_detections(recognizer, clip_frames):
    stream = recognizer.stream(detect_every=3)
    results = [stream.step(rgb) for rgb in clip_frames[:7]]  # detections at 0, 3 and 6; carried in between
    every = [r.faces for r in results]
    assert all(every)  # carried frames still have their faces
    carried = results[4].faces  # frame 4: no detection, moved by the motion model
    assert carried[0].matrix is not None and carried[0].landmarks is not None
    with pytest.raises(ValueError):
        recognizer.stream(detect_every=0)


def test_empty_scene_runs_the_costly_passes_only_now_and_then(recognizer, samples_dir):
    """With the auto detector, a stream that finds no face runs the fallback passes (close-ups, small faces) on
    every THOROUGH_EVERY-th detection only; a close-up that only a fallback pass sees (a selfie stepping in) is
    still found within that many frames, and from then on on every frame."""
    from ferkit.faces import create_detector, load_image
    from ferkit.inference.stream import THOROUGH_EVERY

    auto = create_detector("auto", threads=1)
    full = create_detector("blazeface", threads=1)
    selfie = None
    for name in ("surprised.jpeg", "angry.jpg", "neutral.jpeg", "sad-baby.jpeg"):
        photo = load_image(samples_dir / "images" / name)
        x1, y1, x2, y2 = full.detect(photo)[0].box
        half = max(x2 - x1, y2 - y1) / 2
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        crop = photo[max(0, int(cy - half)) : int(cy + half), max(0, int(cx - half)) : int(cx + half)]
        crop = cv2.resize(crop, (480, 480))
        if not full.detect(crop) and auto.detect(crop):
            selfie = crop
            break
    assert selfie is not None, "no sample close-up that only the fallback passes find"
    blank = np.full_like(selfie, 96)

    stream = recognizer.stream(detector=auto)
    passes = []
    for _ in range(2 * THOROUGH_EVERY + 1):
        assert stream.step(blank).faces == []
        passes.append(auto.last_passes)
    thorough = [i for i, p in enumerate(passes) if p > 1]
    assert thorough == [0, THOROUGH_EVERY, 2 * THOROUGH_EVERY], passes
    found = []
    for _ in range(THOROUGH_EVERY + 3):
        stream.step(selfie)
        found.append(stream.misses == 0)
    first = found.index(True)
    assert first < THOROUGH_EVERY and all(found[first:]), found
