"""Training side of the label modes: ML's loss, PLD's per-epoch draw, validation protocol, other datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ferkit.data.base import ArrayDataset
from ferkit.errors import ConfigError
from ferkit.losses import build_loss
from ferkit.training import label_modes
from ferkit.training.config import load_config


def test_multi_target_loss_is_minus_log_of_the_best_accepted_probability():
    loss = build_loss("multi_target", num_classes=3, num_features=4)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 3.0]])
    targets = torch.tensor([[1.0, 1.0, 1e-3], [1.0, 1e-3, 1e-3]])
    p = logits.softmax(1)
    want = -(torch.log((targets * p).max(1).values)).mean()
    assert loss(logits, targets).item() == pytest.approx(want.item(), rel=1e-6)
    # predicting either accepted emotion is equally right
    accepted = torch.tensor([[1.0, 1.0, 1e-3]])
    a = loss(torch.tensor([[5.0, 0.0, 0.0]]), accepted)
    b = loss(torch.tensor([[0.0, 5.0, 0.0]]), accepted)
    assert a.item() == pytest.approx(b.item(), rel=1e-6)
    assert loss(torch.tensor([[0.0, 0.0, 5.0]]), accepted).item() > a.item() + 1


def test_loss_is_chosen_by_the_mode():
    assert label_modes.loss_name("multi_target", "cross_entropy") == "multi_target"
    assert label_modes.loss_name("draw", "cross_entropy") == "cross_entropy"
    with pytest.raises(ConfigError, match="focal"):
        label_modes.loss_name("multi_target", "focal")
    with pytest.raises(ConfigError, match="needs data.mode=multi_target"):
        label_modes.loss_name("crossentropy", "multi_target")


def test_draw_is_a_pure_function_of_seed_and_epoch_and_follows_the_distribution():
    dist = np.tile(np.array([[0.6, 0.0, 0.3, 0.1]], np.float32), (20000, 1))
    a = label_modes.draw_labels(dist, seed=3, epoch=5)
    np.testing.assert_array_equal(a, label_modes.draw_labels(dist, seed=3, epoch=5))
    assert not np.array_equal(a, label_modes.draw_labels(dist, seed=3, epoch=6))
    assert not np.array_equal(a, label_modes.draw_labels(dist, seed=4, epoch=5))
    freq = np.bincount(a, minlength=4) / len(a)
    np.testing.assert_allclose(freq, [0.6, 0.0, 0.3, 0.1], atol=0.015)
    assert freq[1] == 0  # a class without mass is never drawn
    assert label_modes.draw_labels(np.zeros((2, 4)), 0, 0).tolist() == [0, 0]
    one_hot = np.eye(4, dtype=np.float32)[[2, 0, 3]]
    assert label_modes.draw_labels(one_hot, 1, 1).tolist() == [2, 0, 3]


def test_validation_keeps_the_majority_protocol_for_ml_and_pld():
    assert label_modes.validation_mode("multi_target") == "majority"
    assert label_modes.validation_mode("draw") == "majority"
    assert label_modes.validation_mode("probability") == "probability"
    assert label_modes.validation_mode(None) == "majority"


def _probability_set():
    targets = np.array([[0.7, 0.2, 0.1], [0.4, 0.4, 0.2], [0.34, 0.33, 0.33], [0.25, 0.25, 0.5]], np.float32)
    return ArrayDataset(
        images=np.zeros((4, 8, 8), np.uint8), targets=targets, labels=("a", "b", "c"), name="soft", split="train"
    )


def test_modes_apply_to_any_dataset_with_probability_labels():
    ml = label_modes.apply_mode(_probability_set(), "multi_target")
    # row 2: all three hold >= 30% (100% kept); row 3: a and b hold 25% -> only c (50%) -> dropped
    np.testing.assert_allclose(ml.targets, [[1, 1e-3, 1e-3], [1, 1, 1e-3], [1, 1, 1]])
    assert ml.hard_labels.tolist() == [0, 0, 0]
    cel = label_modes.apply_mode(_probability_set(), "crossentropy")
    np.testing.assert_allclose(cel.targets[0], [0.7 / 0.9, 0.2 / 0.9, 0])
    assert label_modes.apply_mode(_probability_set(), "majority") is not None
    hard = ArrayDataset(
        images=np.zeros((2, 8, 8), np.uint8), targets=np.array([0, 1]), labels=("a", "b"), name="hard", split="train"
    )
    with pytest.raises(ConfigError, match="needs vote or probability labels"):
        label_modes.apply_mode(hard, "draw")


def test_config_accepts_the_modes_and_offline_augment():
    cfg = load_config(None, ["data.mode=draw", "data.offline_augment={copies: 2, seed: 5}"])
    assert cfg.data.mode == "draw" and cfg.data.offline_augment.copies == 2 and cfg.data.offline_augment.seed == 5
    with pytest.raises(ConfigError, match="data.mode"):
        load_config(None, ["data.mode=multilabel"])
    with pytest.raises(ConfigError, match="copies"):
        load_config(None, ["data.offline_augment.copies=-1"])
