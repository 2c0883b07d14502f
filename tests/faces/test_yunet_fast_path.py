"""The photo passes' fast path (YuNet's input built plane by plane into a reused buffer, bilinear shrinking down
to half size, the close-up pass shrunk from the first pass's image, the first pass capped at ``max_pixels``)
finds the faces a plain implementation finds: a zero-padded float canvas built from the image, area averaging
for every shrink, and the close-up pass shrunk from the original."""

import threading

import cv2
import numpy as np
import pytest

from ferkit.faces import create_detector, load_image
from ferkit.faces.auto import PHOTO_MAX_PIXELS
from ferkit.faces.blazeface import to_detections
from ferkit.faces.yunet import COARSE_MIN, FINE_MAX, YuNet, network_input, resized, without_inner_faces

PHOTOS = ["angry.jpg", "group.jpeg", "neutral.jpeg", "sad-baby.jpeg", "race.jpg", "astronaut.png"]


def plain_pass(det: YuNet, image: np.ndarray, scale: float):
    """One pass written the simple way (what the detector did before its fast path)."""
    h, w = image.shape[:2]
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    pw, ph = -(-nw // 32) * 32, -(-nh // 32) * 32
    canvas = np.zeros((ph, pw, 3), np.float32)
    canvas[:nh, :nw] = small[..., ::-1]
    names = [o.name for o in det.session.get_outputs()]
    out = dict(zip(names, det.session.run(None, {"input": canvas.transpose(2, 0, 1)[None].copy()})))
    boxes, points, scores = [], [], []
    for stride in (8, 16, 32):
        cols, rows = pw // stride, ph // stride
        gy, gx = (a.ravel().astype(np.float32) for a in np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij"))
        score = np.sqrt(np.clip(out[f"cls_{stride}"][0, :, 0], 0, 1) * np.clip(out[f"obj_{stride}"][0, :, 0], 0, 1))
        keep = score >= det.min_score
        b, k = out[f"bbox_{stride}"][0, keep], out[f"kps_{stride}"][0, keep]
        cx, cy = (gx[keep] + b[:, 0]) * stride, (gy[keep] + b[:, 1]) * stride
        bw, bh = np.exp(b[:, 2]) * stride, np.exp(b[:, 3]) * stride
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1))
        five = np.stack([(k[:, 0::2] + gx[keep, None]) * stride, (k[:, 1::2] + gy[keep, None]) * stride], -1)
        points.append(np.concatenate([five[:, :3], five[:, 3:5].mean(1, keepdims=True)], 1))
        scores.append(score[keep])
    return np.concatenate(boxes) / scale, np.concatenate(points) / scale, np.concatenate(scores).astype(np.float32)


def plain_detect(det: YuNet, image: np.ndarray):
    h, w = image.shape[:2]
    scale = det.first_scale(h, w)
    boxes, points, scores = plain_pass(det, image, scale)
    keep = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale <= FINE_MAX
    coarse = min(1.0, det.close_side / max(h, w))
    big = plain_pass(det, image, coarse)
    large = np.maximum(big[0][:, 2] - big[0][:, 0], big[0][:, 3] - big[0][:, 1]) * coarse >= COARSE_MIN
    merged = (np.concatenate([a[keep], b[large]]) for a, b in zip((boxes, points, scores), big))
    return without_inner_faces(to_detections(*merged, image.shape, det.iou_threshold))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None).prod()
    return float(inter / ((a[2:] - a[:2]).prod() + (b[2:] - b[:2]).prod() - inter))


@pytest.fixture(scope="module")
def photo_detector() -> YuNet:
    return create_detector("auto", threads=1).photo


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("zoom", [1.0, 1.7])
def test_fast_path_finds_the_faces_of_the_plain_one(photo_detector, samples_dir, name, zoom):
    """Same faces within a box tolerance, on the sample photos as they are and enlarged 1.7x (3-7 MP, where the
    first pass shrinks them and the pixel cap applies)."""
    image = load_image(samples_dir / "images" / name)
    if zoom != 1.0:
        image = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
    fast, plain = photo_detector.detect(image), plain_detect(photo_detector, image)
    assert plain, f"{name}: the plain passes found no face"
    assert len(fast) == len(plain), f"{name} x{zoom}: {len(fast)} faces, the plain passes {len(plain)}"
    for p in plain:
        best = max(fast, key=lambda f: iou(f.box, p.box))
        assert iou(best.box, p.box) >= 0.8, f"{name} x{zoom}: no face near {p.box.round()}"
        side = max(p.width, p.height)
        assert np.abs(best.landmarks - p.landmarks).max() <= 0.1 * side


def test_first_pass_sees_at_most_max_pixels(photo_detector, monkeypatch):
    """A 4:3 12 MP picture reaches the network at most at the cap (plus the padding to a multiple of 32), and a
    1600 x 1000 one is still enlarged 1.2x (what its ~25-px faces need)."""
    seen = []
    run = photo_detector.session.run
    monkeypatch.setattr(
        photo_detector.session, "run", lambda names, feed: seen.append(feed["input"].shape) or run(names, feed)
    )
    photo_detector.detect(np.full((3000, 4000, 3), 90, np.uint8))
    (_, _, h, w), close = seen[0], seen[1]
    assert (h - 32) * (w - 32) <= PHOTO_MAX_PIXELS < h * w
    assert max(close[2:]) == 320
    assert photo_detector.first_scale(1000, 1600) == pytest.approx(1.2)
    assert photo_detector.first_scale(1080, 1920) == pytest.approx(1.0)


def test_network_input_is_bgr_and_zero_padded_in_a_dirty_buffer():
    rgb = np.random.default_rng(0).integers(0, 256, (37, 50, 3), np.uint8)
    out = np.full((1, 3, 64, 64), 7.0, np.float32)  # a reused buffer holds the last picture's values
    network_input(rgb, out)
    assert np.array_equal(out[0, :, :37, :50], rgb[..., ::-1].transpose(2, 0, 1).astype(np.float32))
    assert not out[0, :, 37:].any() and not out[0, :, :, 50:].any()


def test_input_buffer_is_not_shared_between_threads(photo_detector):
    """While one call holds the detector's buffer another gets its own array."""
    inside, release, other = threading.Event(), threading.Event(), []

    def hold():
        with photo_detector._input_buffer((1, 3, 32, 32)) as x:
            other.append(x)
            inside.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(5)
    with photo_detector._input_buffer((1, 3, 32, 32)) as mine:
        assert not np.shares_memory(mine, other[0])
    release.set()
    t.join()
    with photo_detector._input_buffer((1, 3, 32, 32)) as again:
        assert np.shares_memory(again, other[0])  # free again: reused


@pytest.mark.parametrize("shrink, expected", [(0.8, cv2.INTER_LINEAR), (0.5, cv2.INTER_LINEAR), (0.3, cv2.INTER_AREA)])
def test_resized_averages_only_large_shrinks(monkeypatch, shrink, expected):
    used = []
    real = cv2.resize
    monkeypatch.setattr(
        cv2,
        "resize",
        lambda img, size, interpolation: used.append(interpolation) or real(img, size, interpolation=interpolation),
    )
    image = np.zeros((100, 200, 3), np.uint8)
    out = resized(image, (round(200 * shrink), round(100 * shrink)))
    assert out.shape == (round(100 * shrink), round(200 * shrink), 3) and used == [expected]
    assert resized(image, (200, 100)) is image
