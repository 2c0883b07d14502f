"""Knowledge distillation (`loss.distill`): the soft-target loss, the teachers' label mapping and input checks,
and a real FER2013 run where the labels are shuffled: only a student that learns from the teacher can beat
chance on PublicTest."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from run_configs import run_config

from ferkit import pretrained
from ferkit.errors import ConfigError
from ferkit.models.weights import file_sha256
from ferkit.training.config import load_config
from ferkit.training.distill import (
    Teachers,
    augmented_views,
    clean_view_targets,
    distillation_loss,
    offline_targets,
    view_targets,
)
from ferkit.training.feed import DeviceFeed
from ferkit.training.train_data import load_split, preprocess_of
from ferkit.training.trainer import Trainer
from ferkit.transforms.augment import AugmentConfig, BatchAugment
from ferkit.transforms.preprocess import Preprocess

needs_shipped = pytest.mark.skipif("fer2013" not in pretrained.available(), reason="shipped fer2013 model missing")


def config(data_root, cache_dir, out, *extra):
    return run_config(
        data_root,
        cache_dir,
        out,
        "optim.batch_size=32",
        "optim.lr=0.05",
        "threads=1",
        "augment.erase=0",
        "augment.rotate=0",
        *extra,
    )


def test_distillation_loss_is_zero_only_when_the_student_matches():
    teacher = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    soft = torch.softmax(teacher / 4, 1)
    assert distillation_loss(teacher, soft, 4.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_loss(teacher.flip(1), soft, 4.0).item() > 0.05
    student = teacher.clone().requires_grad_(True)
    distillation_loss(student * 0.3, soft, 4.0).backward()
    assert student.grad.abs().sum() > 0


@needs_shipped
def test_teacher_outputs_follow_the_student_label_order():
    loaded = pretrained.load("fer2013")
    order = tuple(reversed(loaded.labels))
    teachers = Teachers(["fer2013"], order, loaded.preprocess, 2.0, torch.device("cpu"), channels_last=False)
    x = torch.randn(3, 1, 40, 40)
    with torch.no_grad():
        direct = torch.softmax(loaded.model(x) / 2.0, 1)
    assert torch.allclose(teachers.soft_targets(x), direct.flip(1), atol=1e-5)


@needs_shipped
def test_a_teacher_of_another_input_side_sees_the_student_crop_resized():
    loaded = pretrained.load("fer2013")
    student = Preprocess(**{**loaded.preprocess.to_dict(), "input_size": 44})
    teachers = Teachers(["fer2013"], loaded.labels, student, 1.0, torch.device("cpu"), channels_last=False)
    x = torch.randn(2, 1, 44, 44)
    resized = torch.nn.functional.interpolate(x, size=(40, 40), mode="bilinear", align_corners=False)
    with torch.no_grad():
        direct = torch.softmax(loaded.model(resized), 1)
    assert torch.allclose(teachers.soft_targets(x), direct, atol=1e-5)


@needs_shipped
def test_offline_targets_are_the_mean_over_the_clean_crop_and_its_mirror(tmp_path):
    """Offline distillation scores each training crop once: centre crop at the student's side, and its mirror
    image. The targets are stored with their key and reused only while teachers, labels and images match."""
    loaded = pretrained.load("fer2013")
    pre = loaded.preprocess
    teachers = Teachers(["fer2013"], loaded.labels, pre, 2.0, torch.device("cpu"), channels_last=False)
    images = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (5, 1, 48, 48), dtype=np.uint8))
    x = pre.centre_crop(pre.normalise(images.float() / 255))
    expected = (teachers.soft_targets(x) + teachers.soft_targets(x.flip(-1))) / 2
    got = clean_view_targets(teachers, images, pre, torch.device("cpu"), batch_size=2)
    assert torch.allclose(got, expected, atol=1e-5)
    assert not torch.allclose(got, teachers.soft_targets(x), atol=1e-3)  # the mirror image counts

    path = tmp_path / "teacher_targets.pt"
    labels = {"main": loaded.labels}
    first = offline_targets(path, {"main": teachers}, labels, images, pre, torch.device("cpu"))
    assert torch.allclose(first["main"], expected, atol=1e-5)
    marked = torch.load(path, weights_only=True)
    assert marked["key"]["heads"]["main"]["sha256"] == [file_sha256(pretrained.resolve("fer2013"))]
    marked["targets"]["main"] = torch.zeros_like(expected)  # a stored file is used as it is ...
    torch.save(marked, path)
    assert offline_targets(path, {"main": teachers}, labels, images, pre, torch.device("cpu"))["main"].sum() == 0
    pinned = tmp_path / "pinned_fer2013.pt"  # ... also when the same weights go by
    pinned.write_bytes(pretrained.resolve("fer2013").read_bytes())  # another name
    renamed = Teachers([str(pinned)], loaded.labels, pre, 2.0, torch.device("cpu"), channels_last=False)
    assert offline_targets(path, {"main": renamed}, labels, images, pre, torch.device("cpu"))["main"].sum() == 0
    other = images.clone()
    other[0] = 255 - other[0]  # ... but not for other images
    again = offline_targets(path, {"main": teachers}, labels, other, pre, torch.device("cpu"))
    assert torch.allclose(again["main"][1:], expected[1:], atol=1e-5)
    path.write_bytes(b"truncated")  # a damaged file is scored again
    assert torch.allclose(
        offline_targets(path, {"main": teachers}, labels, images, pre, torch.device("cpu"))["main"], expected, atol=1e-5
    )


@needs_shipped
def test_stored_views_give_each_epoch_its_augmented_crops_and_their_own_targets(tmp_path):
    """loss.distill.views: K augmented views drawn once (the same K for the same seed), each scored by the
    teachers as it is; epoch e's batches are view e mod K with that view's targets, not a fresh augmentation."""
    loaded = pretrained.load("fer2013")
    pre, cpu = loaded.preprocess, torch.device("cpu")
    images = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (6, 1, 48, 48), dtype=np.uint8))

    def draw(seed):
        augment = BatchAugment(AugmentConfig(jpeg=0.5, blur=0.5), pre.input_size, pre.source_size, seed=seed)
        return augmented_views(images, augment, 3, batch_size=4)

    views = draw(5)
    assert views.shape == (3, 6, 1, pre.input_size, pre.input_size) and views.dtype == torch.uint8
    assert torch.equal(views, draw(5)) and not torch.equal(views, draw(6))
    assert not torch.equal(views[0], views[1])  # K different augmentations
    teachers = Teachers(["fer2013"], loaded.labels, pre, 2.0, cpu, channels_last=False)
    targets = view_targets(teachers, views, pre, cpu, batch_size=4)
    assert targets.shape == (3, 6, len(loaded.labels))
    assert torch.allclose(targets[2], teachers.soft_targets(pre.normalise(views[2].float() / 255)), atol=1e-5)

    path, labels = tmp_path / "teacher_targets.pt", {"main": loaded.labels}
    stored = offline_targets(path, {"main": teachers}, labels, images, pre, cpu, views=views)["main"]
    assert torch.allclose(stored, targets, atol=1e-5)
    assert torch.load(path, weights_only=True)["key"]["views"] == 3
    clean = offline_targets(path, {"main": teachers}, labels, images, pre, cpu)["main"]  # not the views' file
    assert clean.shape == (6, len(loaded.labels))

    never = lambda x: pytest.fail("stored views are not augmented again")  # noqa: E731
    fed = DeviceFeed(images.squeeze(1).numpy(), np.arange(6) % 7, cpu, never, pre.normalise)
    with pytest.raises(ValueError, match="views"):
        fed.set_soft_targets({"main": targets})  # per-view targets need the views
    fed.set_views(views)
    fed.set_soft_targets({"main": targets})
    idx = torch.tensor([1, 4])
    for epoch in (0, 1, 2, 3, 4):
        fed.select_view(epoch)
        x, y, _, _ = fed.batch(idx)
        assert torch.allclose(x, pre.normalise(views[epoch % 3][idx].float() / 255))
        assert torch.equal(fed.soft_targets(idx)["main"], targets[epoch % 3][idx])
        assert y.tolist() == [1, 4]
    for bad in ("loss.distill.views=4", "loss.distill.offline=true loss.distill.views=-1"):
        with pytest.raises(ConfigError, match="loss.distill.views"):
            load_config(None, bad.split())


@needs_shipped
def test_teachers_that_cannot_teach_this_student_are_refused(tmp_path):
    pre = pretrained.load("fer2013").preprocess
    other = Preprocess(**{**pre.to_dict(), "source_size": 64, "input_size": 56})
    with pytest.raises(ConfigError, match="source_size 48 vs 64"):
        Teachers(["fer2013"], ("anger", "happiness"), other, 2.0, torch.device("cpu"))
    with pytest.raises(ConfigError, match="contempt"):
        Teachers(["fer2013"], ("anger", "contempt"), pre, 2.0, torch.device("cpu"))
    with pytest.raises(ConfigError, match="nope.pt"):
        Teachers([str(tmp_path / "nope.pt")], ("anger",), pre, 2.0, torch.device("cpu"))
    for bad in ("loss.distill.weight=1.5", "loss.distill.temperature=0", "loss.distill.teachers=fer2013"):
        with pytest.raises(ConfigError, match="loss.distill"):
            load_config(None, [bad])


@pytest.mark.realdata
@pytest.mark.slow
@needs_shipped
def test_student_learns_the_teachers_function_when_the_labels_say_nothing(data_root, cache_dir, tmp_path):
    """256 Training images with their labels shuffled, no augmentation, 15 epochs. Cross-entropy on the
    shuffled labels agrees with the shipped fer2013 model on these images about as often as chance (0.21 when
    written); with loss.distill.weight=1 the student learns the teacher and agrees with it far more often (0.52),
    whether the teacher sees each batch (online), scored the images once before training (offline), or scored
    three stored views of each (views; without augmentation each view is the image's crop, so this checks the
    stored-view path end to end, and the unit test above that the views are augmented). Its checkpoint holds the
    student only."""
    teacher = pretrained.load("fer2013")
    agreement = {}
    taught = ["loss.distill.teachers=[fer2013]", "loss.distill.weight=1.0", "loss.distill.temperature=2.0"]
    offline = [*taught, "loss.distill.offline=true"]
    for name, extra in (
        ("labels", []),
        ("teacher", taught),
        ("offline", offline),
        ("views", [*offline, "loss.distill.views=3"]),
    ):
        cfg = config(
            data_root,
            cache_dir,
            tmp_path / name,
            "epochs=15",
            "optim.lr=0.1",
            "model.drop_rate=0",
            "augment.flip=0",
            "augment.scale=0",
            "augment.translate=0",
            "augment.brightness=0",
            "augment.contrast=0",
            *extra,
        )
        train_set = load_split(cfg, "fer2013", "Training", 256, progress=False)
        shuffled = np.random.default_rng(0).permutation(train_set.targets)
        val = load_split(cfg, "fer2013", "PublicTest", 200, progress=False)
        trainer = Trainer(
            cfg, progress=False, datasets=(dataclasses.replace(train_set, targets=shuffled), {"main": val})
        )
        trainer.fit()
        x = preprocess_of(cfg).tensors(np.asarray(train_set.images))
        model = trainer.model.eval().float().to(memory_format=torch.contiguous_format)
        with torch.no_grad():
            agreement[name] = (model(x).argmax(1) == teacher.model(x).argmax(1)).float().mean().item()
        saved = torch.load(tmp_path / name / "last.pt", map_location="cpu", weights_only=True)
        assert len(saved["model"]) == len(trainer.model.state_dict())
    assert agreement["labels"] < 0.35, agreement
    assert agreement["teacher"] > agreement["labels"] + 0.2, agreement
    assert agreement["offline"] > agreement["labels"] + 0.2, agreement  # scored once, before training
    assert agreement["views"] > agreement["labels"] + 0.2, agreement  # 3 augmented views, each scored once
    assert (tmp_path / "offline" / "teacher_targets.pt").is_file()
    assert not (tmp_path / "teacher" / "teacher_targets.pt").exists()


@pytest.mark.realdata
@needs_shipped
def test_auxiliary_heads_get_their_own_teachers(data_root, cache_dir, tmp_path):
    """A multitask FERPlus run whose fer2013 head learns from the shipped fer2013 model too; naming a head the
    run does not have is a one-line error."""
    with pytest.raises(ConfigError, match="fer2013 is not an auxiliary head"):
        Trainer(
            config(
                data_root,
                cache_dir,
                tmp_path / "bad",
                "epochs=1",
                "data.train_subset=64",
                "data.val_subset=64",
                "loss.distill.aux_teachers={fer2013: [fer2013]}",
            ),
            progress=False,
        )
    cfg = config(
        data_root,
        cache_dir,
        tmp_path / "mt",
        "epochs=1",
        "data.dataset=ferplus",
        "data.mode=probability",
        "data.aux_heads=[fer2013]",
        "data.train_subset=256",
        "data.val_subset=64",
        "loss.distill.aux_teachers={fer2013: [fer2013]}",
        "loss.distill.weight=0.7",
    )
    trainer = Trainer(cfg, progress=False)
    assert set(trainer.step_module.aux_teachers) == {"fer2013"} and trainer.step_module.teachers is None
    state = trainer.fit()
    assert np.isfinite(state.history[-1]["train_loss"])
    offline = Trainer(
        dataclasses.replace(
            cfg,
            out_dir=str(tmp_path / "offline"),
            loss=dataclasses.replace(cfg.loss, distill=dataclasses.replace(cfg.loss.distill, offline=True)),
        ),
        progress=False,
    )
    assert not offline.step_module.aux_teachers and set(offline.feed.soft) == {"fer2013"}
    assert offline.feed.soft["fer2013"].shape == (len(offline.feed), len(offline.aux_labels["fer2013"]))
    assert np.isfinite(offline.fit().history[-1]["train_loss"])


class _CountingTeachers:
    """A stand-in teacher ensemble: a fixed linear map of the mean pixel per channel, counting its calls and
    raising on call ``fail_at`` (a run stopped while scoring)."""

    sources, digests, temperature = ["fake.pt"], ["0" * 64], 1.0

    def __init__(self, fail_at: int | None = None):
        self.calls, self.fail_at = 0, fail_at

    def __len__(self) -> int:
        return 1

    def soft_targets(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.fail_at:
            raise KeyboardInterrupt
        m = x.mean((1, 2, 3))[:, None]
        return torch.softmax(torch.cat([m, -m, 2 * m], 1), 1)


def test_view_scoring_stopped_midway_resumes_at_the_first_unscored_view(tmp_path):
    views = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 6, 1, 40, 40), dtype=np.uint8))
    images = views[0]
    pre, cpu, labels = Preprocess(), torch.device("cpu"), {"main": ("a", "b", "c")}
    whole = offline_targets(tmp_path / "ref.pt", {"main": _CountingTeachers()}, labels, images, pre, cpu, views=views)
    assert whole["main"].shape == (4, 6, 3)

    path = tmp_path / "teacher_targets.pt"
    stopped = _CountingTeachers(fail_at=3)  # one batch per view: views 0 and 1 finish
    with pytest.raises(KeyboardInterrupt):
        offline_targets(path, {"main": stopped}, labels, images, pre, cpu, views=views)
    partial = tmp_path / "teacher_targets.partial.pt"
    assert not path.exists() and torch.load(partial, weights_only=True)["targets"]["main"].shape == (2, 6, 3)
    resumed = _CountingTeachers()
    got = offline_targets(path, {"main": resumed}, labels, images, pre, cpu, views=views)
    assert resumed.calls == 2  # only views 2 and 3 were scored again
    assert torch.allclose(got["main"], whole["main"]) and not partial.exists()
    written = path.stat().st_mtime_ns
    again = _CountingTeachers()  # a complete file: read, neither scored nor rewritten
    assert torch.allclose(
        offline_targets(path, {"main": again}, labels, images, pre, cpu, views=views)["main"], whole["main"]
    )
    assert again.calls == 0 and path.stat().st_mtime_ns == written
    path.rename(partial)  # stopped after the last view, before the final write
    last = _CountingTeachers()
    assert torch.allclose(
        offline_targets(path, {"main": last}, labels, images, pre, cpu, views=views)["main"], whole["main"]
    )
    assert last.calls == 0 and path.is_file() and not partial.exists()
    other = views.clone()
    other[0, 0] = 255 - other[0, 0]  # a partial file of other views is not used
    with pytest.raises(KeyboardInterrupt):
        offline_targets(
            tmp_path / "o.pt", {"main": _CountingTeachers(fail_at=2)}, labels, images, pre, cpu, views=views
        )
    fresh = _CountingTeachers()
    offline_targets(tmp_path / "o.pt", {"main": fresh}, labels, other[0], pre, cpu, views=other)
    assert fresh.calls == 4


def test_a_stored_file_of_fewer_views_provides_the_leading_views(tmp_path):
    """Views are drawn in order from the run's seed, so a 2-view run's targets are the first 2 of a 4-view run's:
    copied into the 4-view run's folder, they are read, and only views 2 and 3 are scored."""
    views = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (4, 5, 1, 40, 40), dtype=np.uint8))
    pre, cpu, labels = Preprocess(), torch.device("cpu"), {"main": ("a", "b", "c")}
    whole = offline_targets(
        tmp_path / "ref.pt", {"main": _CountingTeachers()}, labels, views[0], pre, cpu, views=views
    )["main"]
    (tmp_path / "two").mkdir()
    offline_targets(
        tmp_path / "two" / "teacher_targets.pt",
        {"main": _CountingTeachers()},
        labels,
        views[0],
        pre,
        cpu,
        views=views[:2],
    )
    (tmp_path / "four").mkdir()
    (tmp_path / "four" / "teacher_targets.pt").write_bytes((tmp_path / "two" / "teacher_targets.pt").read_bytes())
    counting = _CountingTeachers()
    got = offline_targets(
        tmp_path / "four" / "teacher_targets.pt", {"main": counting}, labels, views[0], pre, cpu, views=views
    )["main"]
    assert counting.calls == 2 and torch.allclose(got, whole)
    shuffled = views[[1, 0, 2, 3]]  # other leading views: nothing is reused
    counting = _CountingTeachers()
    offline_targets(
        tmp_path / "two" / "teacher_targets.pt", {"main": counting}, labels, views[0], pre, cpu, views=shuffled
    )
    assert counting.calls == 4


@needs_shipped
def test_a_stored_file_of_fewer_teachers_is_extended_by_scoring_only_the_added_ones(tmp_path):
    """Targets are a mean over teachers, so a run that adds a teacher to a stored file's ensemble scores only the
    added teacher and mixes it in by count: the result equals scoring the whole ensemble."""
    loaded = pretrained.load("fer2013")
    pre, cpu, labels = loaded.preprocess, torch.device("cpu"), {"main": loaded.labels}
    added = str(Path(__file__).resolve().parents[2] / "lab" / "weights" / "fer2013_e0c6218.pt")
    views = torch.from_numpy(
        np.random.default_rng(2).integers(0, 256, (2, 4, 1, pre.input_size, pre.input_size), dtype=np.uint8)
    )
    one = Teachers(["fer2013"], loaded.labels, pre, 2.0, cpu, channels_last=False)
    both = Teachers(["fer2013", added], loaded.labels, pre, 2.0, cpu, channels_last=False)
    whole = view_targets(both, views, pre, cpu)
    path = tmp_path / "teacher_targets.pt"
    offline_targets(path, {"main": one}, labels, views[0], pre, cpu, views=views)
    stale = tmp_path / "teacher_targets.partial.pt"  # a partial file of the old teachers
    torch.save({"key": {"views": 1}, "targets": {}}, stale)
    got = offline_targets(path, {"main": both}, labels, views[0], pre, cpu, views=views)["main"]
    assert torch.allclose(got, whole, atol=1e-5) and not stale.exists()
    assert torch.load(path, weights_only=True)["key"]["heads"]["main"]["sources"] == ["fer2013", added]

    offline_targets(path, {"main": one}, labels, views[0], pre, cpu, views=views)  # fewer teachers: scored anew
    marked = torch.load(path, weights_only=True)
    marked["targets"]["main"] = torch.zeros_like(whole)  # the stored teacher is read, not scored again:
    torch.save(marked, path)
    got = offline_targets(path, {"main": both}, labels, views[0], pre, cpu, views=views)["main"]
    assert torch.allclose(got, view_targets(both.subset([1]), views, pre, cpu) / 2, atol=1e-5)

    images = views[0]  # clean-crop targets extend the same way
    clean = tmp_path / "clean.pt"
    offline_targets(clean, {"main": one}, labels, images, pre, cpu)
    got = offline_targets(clean, {"main": both}, labels, images, pre, cpu)["main"]
    assert torch.allclose(got, clean_view_targets(both, images, pre, cpu), atol=1e-5)
    hotter = Teachers(["fer2013", added], loaded.labels, pre, 3.0, cpu, channels_last=False)
    offline_targets(clean, {"main": one}, labels, images, pre, cpu)
    got = offline_targets(clean, {"main": hotter}, labels, images, pre, cpu)["main"]  # another temperature: anew
    assert torch.allclose(got, clean_view_targets(hotter, images, pre, cpu), atol=1e-5)
