"""JAFFE, RAF-DB, AffectNet and generic image folders on tiny fixtures written in each exact format."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ferkit.data import jaffe, load_dataset
from ferkit.errors import DatasetError
from ferkit.labels import AFFECTNET_LABELS, JAFFE_LABELS, RAFDB_LABELS


def _face(value: int, size: int = 64, rgb: bool = False) -> Image.Image:
    """A dark image with a bright centred square of the given grey value."""
    arr = np.full((size, size), 20, np.uint8)
    q = size // 4
    arr[q:-q, q:-q] = value
    return Image.fromarray(np.stack([arr] * 3, -1) if rgb else arr)


# ---- JAFFE -------------------------------------------------------------------------------------------------
SUBJECTS = ("KA", "KL", "KM", "NA")


@pytest.fixture
def jaffe_root(tmp_path):
    folder = tmp_path / "jaffe"
    folder.mkdir()
    n = 0
    for s in SUBJECTS:
        for code in jaffe.CODES:
            n += 1
            _face(100 + n).save(folder / f"{s}.{code}1.{n}.tiff")
    (folder / "README").write_text("not an image")
    return tmp_path


def test_jaffe_without_detector_uses_centre_square_and_counts(jaffe_root, monkeypatch):
    monkeypatch.setattr(jaffe, "default_cropper", lambda: (None, "centre"))
    ds = load_dataset("jaffe", "all", jaffe_root, cache=jaffe_root / "cache", folds=2, progress=False)
    assert len(ds) == 28 and ds.images.shape == (28, 48, 48) and ds.images.dtype == np.uint8
    assert ds.labels == JAFFE_LABELS and ds.class_counts().tolist() == [4] * 7
    assert ds.info["cropper"] == "centre" and ds.info["faces_not_detected"] == 28
    assert sorted(set(ds.extra["subject"])) == list(SUBJECTS)
    assert JAFFE_LABELS[ds.targets[ds.extra["file"].tolist().index("KA.HA1.4.tiff")]] == "happiness"


def test_jaffe_custom_cropper_and_subject_folds(jaffe_root):
    calls = []

    def cropper(rgb):
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        calls.append(1)
        if len(calls) % 7 == 0:
            return []  # "no face" on every 7th photo
        return [rgb[16:48, 16:48, 0], rgb[:8, :8, 0]]  # the face first, a second (ignored) detection

    for k in range(2):
        test = load_dataset("jaffe", f"fold{k}", jaffe_root, folds=2, cropper=cropper, progress=False)
        train = load_dataset("jaffe", f"train{k}", jaffe_root, folds=2, cropper=cropper, progress=False)
        assert not set(test.extra["subject"]) & set(train.extra["subject"])
        assert len(test) == len(train) == 14
    ds = load_dataset("jaffe", "all", jaffe_root, folds=2, cropper=cropper, progress=False)
    assert ds.info["cropper"] == "custom" and "cache" not in ds.info  # a function cannot key the cache
    assert ds.info["faces_not_detected"] == 4 and ds.info["multiple_faces"] == 24
    found = ds.extra["faces"] > 0
    assert (ds.images[found] == ds.images[found][:, :1, :1]).all(axis=(1, 2)).all()  # crop = bright square only


@pytest.mark.realdata
def test_jaffe_default_cropper_finds_a_real_face(samples_dir):
    from ferkit.data.imageio import read_image

    cropper, how = jaffe.default_cropper()
    if cropper is None:
        pytest.skip("ferkit.faces provides no detector here")
    crop, found, n = jaffe.crop_face(read_image(samples_dir / "images" / "neutral.jpeg", "RGB"), cropper, 48)
    assert found and n == 1 and crop.shape == (48, 48) and crop.dtype == np.uint8
    # a synthetic photo without a face falls back to the centre square
    _, found, n = jaffe.crop_face(np.full((64, 64, 3), 90, np.uint8), cropper, 48)
    assert not found and n == 0


def test_jaffe_bad_names_and_missing(tmp_path, jaffe_root):
    _face(50).save(jaffe_root / "jaffe" / "KA.XX1.99.tiff")
    with pytest.raises(DatasetError, match="KA.XX1.99.tiff"):
        load_dataset("jaffe", "all", jaffe_root, cache=False)
    with pytest.raises(DatasetError, match="JAFFE not found"):
        load_dataset("jaffe", "all", _empty(tmp_path), cache=False)


def _empty(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


# ---- RAF-DB ------------------------------------------------------------------------------------------------
def _rafdb(tmp_path, lines: list[str], images: list[str]):
    base = tmp_path / "rafdb" / "basic"
    (base / "EmoLabel").mkdir(parents=True)
    (base / "Image" / "aligned").mkdir(parents=True)
    (base / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    for i, name in enumerate(images):
        _face(60 + 20 * i, 100, rgb=True).save(base / "Image" / "aligned" / name.replace(".jpg", "_aligned.jpg"))
    return tmp_path


def test_rafdb_splits_and_labels(tmp_path):
    names = ["train_00001.jpg", "train_00002.jpg", "test_0001.jpg", "train_00003.jpg"]
    root = _rafdb(tmp_path, [f"{n} {lab}" for n, lab in zip(names, (1, 7, 4, 5))], names)
    train = load_dataset("rafdb", "train", root, cache=tmp_path / "cache", progress=False)
    test = load_dataset("rafdb", "test", root, cache=tmp_path / "cache", progress=False)
    assert train.labels == RAFDB_LABELS and train.images.shape == (3, 48, 48)
    assert [RAFDB_LABELS[t] for t in train.targets] == ["surprise", "neutral", "sadness"]
    assert [RAFDB_LABELS[t] for t in test.targets] == ["happiness"] and test.extra["file"].tolist() == names[2:3]
    assert abs(int(test.images[0, 24, 24]) - 100) <= 3  # decoded to grey, resized from 100x100


@pytest.mark.parametrize(
    "line, message",
    [
        ("train_00001.jpg 8", "outside 1..7"),
        ("train_00001.jpg x", "integer"),
        ("train_00001.jpg", "expected"),
        ("val_1.jpg 3", "train_ or test_"),
    ],
)
def test_rafdb_bad_label_lines(tmp_path, line, message):
    root = _rafdb(tmp_path, ["train_00002.jpg 3", line], ["train_00001.jpg", "train_00002.jpg"])
    with pytest.raises(DatasetError, match=f"list_patition_label.txt:2: .*{message}"):
        load_dataset("rafdb", "train", root, cache=False)


def test_rafdb_missing_image_and_split(tmp_path):
    root = _rafdb(tmp_path, ["train_00001.jpg 3", "train_00002.jpg 3"], ["train_00001.jpg"])
    with pytest.raises(DatasetError, match="train_00002_aligned.jpg"):
        load_dataset("rafdb", "train", root, cache=False)
    with pytest.raises(DatasetError, match="unknown split 'val'"):
        load_dataset("rafdb", "val", root, cache=False)
    with pytest.raises(DatasetError, match="RAF-DB not found"):
        load_dataset("rafdb", "train", _empty(tmp_path), cache=False)


# ---- AffectNet ---------------------------------------------------------------------------------------------
HEADER = "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"


def _affectnet(tmp_path, rows: dict[str, list[tuple]]):
    base = tmp_path / "affectnet"
    img_dir = base / "Manually_Annotated_Images" / "7"
    img_dir.mkdir(parents=True)
    for split_file, items in rows.items():
        lines = [HEADER]
        for name, box, expr, make in items:
            if make:
                arr = np.zeros((150, 200), np.uint8)
                x, y, w, h = box
                arr[max(y, 0) : y + h, max(x, 0) : x + w] = 230  # the face box is bright, the rest black
                Image.fromarray(np.stack([arr] * 3, -1)).save(img_dir / name, quality=95)
            lines.append(f'7/{name},{",".join(map(str, box))},"1.0;2.0;3.0;4.0",{expr},0.25,-0.5')
        (base / split_file).write_text("\n".join(lines) + "\n")
    return tmp_path


def test_affectnet_crops_face_box_and_keeps_emotions(tmp_path):
    root = _affectnet(
        tmp_path,
        {
            "training.csv": [
                ("a.jpg", (40, 30, 64, 64), 1, True),
                ("b.jpg", (100, 50, 80, 90), 7, True),
                ("c.jpg", (10, 10, 50, 50), 9, True),
                ("d.jpg", (10, 10, 50, 50), 10, False),
            ],
            "validation.csv": [("e.jpg", (0, 0, 60, 60), 0, True)],
        },
    )
    train = load_dataset("affectnet", "train", root, cache=tmp_path / "cache", progress=False)
    assert train.labels == AFFECTNET_LABELS and len(train) == 2  # expression 9 / 10 skipped
    assert [AFFECTNET_LABELS[t] for t in train.targets] == ["happiness", "contempt"]
    assert train.images.min() > 180  # only the bright face box was kept
    np.testing.assert_allclose(train.extra["valence"], 0.25)
    np.testing.assert_allclose(train.extra["arousal"], -0.5)
    seven = load_dataset("affectnet", "training", root, cache=tmp_path / "cache", classes=7, progress=False)
    assert len(seven) == 1 and len(seven.labels) == 7
    val = load_dataset("affectnet", "validation", root, cache=tmp_path / "cache", progress=False)
    assert val.split == "val" and val.targets.tolist() == [0]


def test_affectnet_errors(tmp_path):
    root = _affectnet(
        tmp_path, {"training.csv": [("a.jpg", (40, 30, 64, 64), 1, True), ("missing.jpg", (1, 1, 5, 5), 2, False)]}
    )
    with pytest.raises(DatasetError, match=r"training.csv:3: image .*missing.jpg not found"):
        load_dataset("affectnet", "train", root, cache=False)
    with pytest.raises(DatasetError, match="validation.csv not found"):
        load_dataset("affectnet", "val", root, cache=False)
    with pytest.raises(DatasetError, match="unknown split"):
        load_dataset("affectnet", "test", root, cache=False)
    csv = root / "affectnet" / "training.csv"
    csv.write_text(HEADER + "\n7/a.jpg,500,500,10,10,,1,0,0\n")
    with pytest.raises(DatasetError, match="training.csv:2: face box .* lies outside"):
        load_dataset("affectnet", "train", root, cache=False)
    csv.write_text("path,label\n7/a.jpg,1\n")
    with pytest.raises(DatasetError, match="training.csv: header must be"):
        load_dataset("affectnet", "train", root, cache=False)
    csv.write_text(HEADER + "\n7/a.jpg,1,1,x,10,,1,0,0\n")
    with pytest.raises(DatasetError, match="training.csv:2: .*must be numbers"):
        load_dataset("affectnet", "train", root, cache=False)


# ---- generic image folders ---------------------------------------------------------------------------------
def _folder(root, layout: dict[str, int], ext: str = ".png"):
    for i, (rel, n) in enumerate(layout.items()):
        d = root / rel
        d.mkdir(parents=True, exist_ok=True)
        for j in range(n):
            _face(40 + 10 * i + j, 32, rgb=True).save(d / f"img{j}{ext}")
    return root


def test_imagefolder_split_layout(tmp_path):
    root = _folder(
        tmp_path / "faces", {"train/happy": 3, "train/Sad": 2, "train/other": 1, "test/happy": 1, "test/angry": 2}
    )
    (root / "train" / "happy" / "notes.txt").write_text("ignored")
    train = load_dataset("imagefolder", "train", path=root, cache=tmp_path / "cache", progress=False)
    test = load_dataset("imagefolder", "TEST", path=root, cache=tmp_path / "cache", progress=False)
    assert train.labels == test.labels == ("anger", "happiness", "other", "sadness")  # union, canonical names
    assert train.class_counts().tolist() == [0, 3, 1, 2] and test.class_counts().tolist() == [2, 1, 0, 0]
    assert train.images.shape == (6, 48, 48) and train.images.dtype == np.uint8
    everything = load_dataset("imagefolder", "all", path=root, cache=tmp_path / "cache", progress=False)
    assert len(everything) == 9 and set(everything.extra["split"]) == {"train", "test"}
    with pytest.raises(DatasetError, match="no split folder 'val'; splits present: test, train"):
        load_dataset("imagefolder", "val", path=root, cache=False)


def test_imagefolder_label_layout_relative_to_data_root(tmp_path):
    _folder(tmp_path / "mine", {"happiness": 2, "neutral": 1}, ext=".jpg")
    ds = load_dataset("imagefolder", "all", tmp_path, path="mine", size=24, cache=False, progress=False)
    assert ds.labels == ("happiness", "neutral") and ds.images.shape == (3, 24, 24)


def test_imagefolder_errors(tmp_path):
    root = _folder(tmp_path / "dup", {"happy": 1, "happiness": 1})
    with pytest.raises(DatasetError, match="both mean label 'happiness'"):
        load_dataset("imagefolder", "all", path=root, cache=False)
    bad = _folder(tmp_path / "bad", {"sad": 1})
    (bad / "sad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="broken.png: cannot decode"):
        load_dataset("imagefolder", "all", path=bad, cache=False, progress=False)
    with pytest.raises(DatasetError, match="not a directory"):
        load_dataset("imagefolder", "all", path=tmp_path / "nowhere", cache=False)
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(DatasetError, match="empty/happy: no images and no label folders"):
        load_dataset("imagefolder", "all", path=tmp_path / "empty", cache=False)
    (tmp_path / "empty2" / "train" / "happy").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no image files"):
        load_dataset("imagefolder", "all", path=tmp_path / "empty2", cache=False)
