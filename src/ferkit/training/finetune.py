"""Pre-train and fine-tune (survey, seed 000): multi-stage fine-tuning with subject-independent k-fold CV.

For every fold k the stages run in order on ``train<k>`` (every other fold's subjects) and the last stage's
final weights are scored on ``fold<k>``; the report is the mean and standard deviation of the fold accuracies
(plus the pooled accuracy over all test images). Stage 0 may start from an external pretrained model
(``pretrained``: a local ferkit model file, e.g. a FER2013 run); its head is re-initialised, or with
``reinit_head: false`` carried over row by row for the labels both sets share (by name). Later stages start
from the previous stage's weights, head included. Each stage's overrides can freeze parameter prefixes
(``model.freeze``), lower the backbone's LR (``optim.backbone_lr_mult``) and so on.

The fold's test split is the trainer's validation split only for the per-epoch log; no epoch is selected on it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ferkit.errors import ConfigError
from ferkit.io_utils import write_json
from ferkit.labels import align
from ferkit.training.config import load_config
from ferkit.training.typed import build, read_yaml


@dataclass
class Stage:
    name: str = "stage"
    overrides: list[str] = field(default_factory=list)


@dataclass
class FinetuneConfig:
    config: str | None = None  # base training YAML (a TrainConfig)
    overrides: list[str] = field(default_factory=list)  # applied to every stage, before the stage's own
    dataset: str = "ckplus"  # a dataset with train<k>/fold<k> splits (ckplus, jaffe)
    folds: int = 10  # the dataset loaders' default fold count
    pretrained: str | None = None  # model file stage 0 starts from
    reinit_head: bool = True  # False: keep the pretrained head's rows for shared labels
    stages: list[Stage] = field(default_factory=lambda: [Stage()])
    out_dir: str = "runs/finetune"
    last_overrides: list[str] = field(default_factory=list)  # after each stage's own (the command line's)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_finetune_config(path: str | Path | None, overrides: list[str] | None = None) -> FinetuneConfig:
    cfg = build(FinetuneConfig, read_yaml(path))
    cfg.last_overrides = list(cfg.last_overrides) + list(overrides or [])
    if not cfg.stages:
        raise ConfigError("fine-tuning needs at least one stage")
    if cfg.folds < 2:
        raise ConfigError(f"folds must be >= 2, got {cfg.folds}")
    return cfg


def transfer_head(model: torch.nn.Module, payload: dict, labels) -> list[str]:
    """Copy the pretrained head's rows into ``model.head`` for every label both share; return those labels."""
    src_labels = payload.get("labels")
    w, b = payload["model"].get("head.weight"), payload["model"].get("head.bias")
    if src_labels is None or w is None or w.shape[1] != model.head.weight.shape[1]:
        raise ConfigError("reinit_head=false: the pretrained file has no compatible linear head with labels")
    shared = []
    with torch.no_grad():
        for i, j in align(labels, src_labels):
            model.head.weight[i] = w[j]
            if b is not None:
                model.head.bias[i] = b[j]
            shared.append(labels[i])
    return shared


def stage_config(ft: FinetuneConfig, fold: int, index: int):
    stage = ft.stages[index]
    base = [
        f"data.dataset={ft.dataset}",
        f"data.train_split=train{fold}",
        f"data.val_split=fold{fold}",
        f"out_dir={Path(ft.out_dir) / f'fold{fold}' / f'{index}_{stage.name}'}",
    ]
    if index == 0 and ft.pretrained and ft.reinit_head:
        base.append(f"model.pretrained={ft.pretrained}")
    return load_config(ft.config, base + list(ft.overrides) + list(stage.overrides) + list(ft.last_overrides))


def _initial_state(ft: FinetuneConfig, cfg) -> dict | None:
    """Stage 0 with reinit_head=false: the pretrained backbone plus the label-aligned head rows."""
    if not ft.pretrained or ft.reinit_head:
        return None
    from ferkit.data import load_dataset
    from ferkit.models import create_model
    from ferkit.models.checkpoint import read_file
    from ferkit.models.weights import load_pretrained

    labels = load_dataset(ft.dataset, "fold0", cfg.data.data_root, cache=cfg.data.cache).labels
    model = create_model(
        cfg.model.name, num_classes=len(labels), in_chans=1, drop_rate=cfg.model.drop_rate, **cfg.model.kwargs
    )
    load_pretrained(model, ft.pretrained)
    transfer_head(model, read_file(ft.pretrained), labels)
    return model.state_dict()


def run_fold(ft: FinetuneConfig, fold: int, progress: bool | None = False) -> dict:
    """All stages of one fold; returns the last stage's metrics on the test fold."""
    from ferkit.data import load_dataset
    from ferkit.evaluation.evaluate import evaluate_model
    from ferkit.models.checkpoint import load_model, read_file
    from ferkit.training.runs import train_to_final

    state = None
    final = None
    for index in range(len(ft.stages)):
        cfg = stage_config(ft, fold, index)
        if index == 0:
            state = _initial_state(ft, cfg)
        final = train_to_final(cfg, init_state=state, progress=progress)
        state = read_file(final)["model"]
    test = load_dataset(ft.dataset, f"fold{fold}", cfg.data.data_root, cache=cfg.data.cache)
    result = evaluate_model(load_model(final), test)
    return {
        "fold": fold,
        "n": result["n"],
        "accuracy": result["accuracy"],
        "macro_f1": result["macro_f1"],
        "model": str(final),
    }


def summarise(rows: list[dict]) -> dict:
    acc = np.array([r["accuracy"] for r in rows])
    f1 = np.array([r["macro_f1"] for r in rows])
    n = np.array([r["n"] for r in rows])
    return {
        "folds": len(rows),
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std(ddof=1)) if len(rows) > 1 else 0.0,
        "macro_f1_mean": float(f1.mean()),
        "pooled_accuracy": float((acc * n).sum() / n.sum()),
        "per_fold": rows,
    }


def run_cv(ft: FinetuneConfig, folds: list[int] | None = None, progress: bool | None = False) -> dict:
    """Every requested fold (default all), summarised; also written to ``out_dir/cv_results.json``."""
    folds = list(range(ft.folds)) if folds is None else folds
    bad = [k for k in folds if not 0 <= k < ft.folds]
    if bad:
        raise ConfigError(f"folds {bad} out of range 0..{ft.folds - 1}")
    rows = [run_fold(ft, k, progress) for k in folds]
    result = {**summarise(rows), "config": ft.to_dict()}
    write_json(Path(ft.out_dir) / "cv_results.json", result)
    return result


def markdown(result: dict, title: str = "Fine-tuning, subject-independent CV") -> str:
    ft = result["config"]
    lines = [
        f"# {title}",
        "",
        f"Dataset `{ft['dataset']}`, {result['folds']} of {ft['folds']} folds; base config `{ft['config']}`; "
        f"pretrained `{ft['pretrained']}` (head {'re-initialised' if ft['reinit_head'] else 'carried over'}).",
        "",
        "Stages: "
        + "; ".join(f"**{s['name']}** `{' '.join(s['overrides'])}`" for s in ft["stages"])
        + (f"; then on every stage `{' '.join(ft['last_overrides'])}`" if ft["last_overrides"] else ""),
        "",
        f"**accuracy {result['accuracy_mean']:.4f} +- {result['accuracy_std']:.4f}** (mean +- std over folds), "
        f"pooled {result['pooled_accuracy']:.4f}, macro-F1 {result['macro_f1_mean']:.4f}",
        "",
        "| fold | n | accuracy | macro-F1 |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {r['fold']} | {r['n']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} |" for r in result["per_fold"]]
    return "\n".join(lines) + "\n"
