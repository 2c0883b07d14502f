"""The data of a training run: the training set (with its auxiliary label sets), the validation sets, and the
training crops prepared once (illumination) for the device feed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ferkit.data import ArrayDataset, load_dataset
from ferkit.data.subsets import stratified_subset
from ferkit.errors import ConfigError
from ferkit.training import label_modes
from ferkit.training.config import TrainConfig
from ferkit.training.offline_augment import offline_augmented
from ferkit.transforms.preprocess import Preprocess, prepare_crops


@dataclass
class TrainData:
    train_set: ArrayDataset
    val_sets: dict[str, ArrayDataset]  # "main" and one per auxiliary head
    aux_labels: dict[str, tuple[str, ...]]  # auxiliary head -> its label set
    aux_targets: dict[str, np.ndarray]  # auxiliary head -> per-training-sample label (< 0: none)
    train_mask: np.ndarray  # training samples with a main label
    class_counts: np.ndarray  # main-label counts of the training set
    train_images: np.ndarray  # the training crops after the per-image preprocessing


def load_split(
    cfg: TrainConfig,
    name: str,
    split: str,
    subset: int | None,
    keep_all: bool = False,
    progress: bool = True,
    mode: str | None = None,
) -> ArrayDataset:
    """One split at the config's source size and colour under label ``mode`` (default ``data.mode``),
    optionally a stratified subset."""
    mode = mode or cfg.data.mode
    options = {"progress": progress}  # the readers' progress bars follow the trainer's (--no-progress: none)
    if name == "ferplus":
        options["mode"] = mode or "majority"
        if keep_all:
            options["keep_all"] = True
    ds = load_dataset(
        name,
        split,
        cfg.data.data_root,
        cache=cfg.data.cache,
        size=cfg.data.source_size,
        in_chans=cfg.data.in_chans,
        **options,
    )
    if name == cfg.data.dataset:  # auxiliary label sets keep their own hard labels
        ds = label_modes.apply_mode(ds, mode)
    index = stratified_subset(ds.hard_labels, subset, cfg.seed)
    return ds.subset(index) if index is not None else ds


def preprocess_of(cfg: TrainConfig) -> Preprocess:
    d = cfg.data
    return Preprocess(
        source_size=d.source_size,
        input_size=d.input_size,
        in_chans=d.in_chans,
        mean=[d.mean] * d.in_chans,
        std=[d.std] * d.in_chans,
        illumination=d.illumination,
    )


def load_train_data(
    cfg: TrainConfig,
    preprocess: Preprocess,
    show: bool,
    datasets: tuple[ArrayDataset, dict[str, ArrayDataset]] | None = None,
) -> TrainData:
    """The splits ``cfg.data`` names, or ``datasets`` (train set, {"main": validation set, ...}) instead;
    checked for the configured size and colour. ``show``: the readers' progress bars."""
    d = cfg.data
    if datasets is not None:
        train_set, val_sets = datasets[0], dict(datasets[1])
    else:
        train_set = load_split(cfg, d.dataset, d.train_split, d.train_subset, keep_all=bool(d.aux_heads), progress=show)
        val_sets = {
            "main": load_split(
                cfg, d.dataset, d.val_split, d.val_subset, progress=show, mode=label_modes.validation_mode(d.mode)
            )
        }
    if d.offline_augment.copies:  # K augmented copies of every training image, made once and cached
        train_set = offline_augmented(train_set, d.offline_augment, cfg.augment, d.cache, show)
    aux_labels: dict[str, tuple[str, ...]] = {}
    aux_targets: dict[str, np.ndarray] = {}
    for name in d.aux_heads:
        if name not in train_set.extra:
            raise ConfigError(
                f"data.aux_heads: dataset {d.dataset!r} carries no {name!r} labels "
                f"(available: {', '.join(k for k in train_set.extra if k != 'row')})"
            )
        aux_val = load_split(cfg, name, d.val_split, d.val_subset, progress=show)
        val_sets[name] = aux_val
        aux_labels[name] = aux_val.labels
        aux_targets[name] = np.asarray(train_set.extra[name], dtype=np.int64)
    for name, ds in {"training": train_set, **val_sets}.items():
        shape = tuple(ds.images.shape[1:])
        want = (d.source_size, d.source_size) + ((3,) if d.in_chans == 3 else ())
        if shape != want:
            raise ConfigError(
                f"{name} images are {shape}, but data.source_size={d.source_size} and "
                f"data.in_chans={d.in_chans} need {want}"
            )
    hard = train_set.hard_labels
    mask = hard >= 0
    # illumination is a per-image uint8 operation: applied once to the whole training set, as prepare_crops
    # applies it to every crop at evaluation and inference
    return TrainData(
        train_set,
        val_sets,
        aux_labels,
        aux_targets,
        train_mask=mask,
        class_counts=np.bincount(hard[mask], minlength=len(train_set.labels)),
        train_images=prepare_crops(train_set.images, preprocess),
    )
