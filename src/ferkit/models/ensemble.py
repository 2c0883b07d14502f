"""Network ensembles as one classifier (survey, seed 000): decision-level or feature-level fusion of members.

An ``Ensemble`` is a registered model (``ensemble``), so it saves to one ferkit model file whose
``arch_kwargs`` describe the members (architecture, its kwargs, label list, preprocessing) and whose state_dict
holds every member's weights; ``load_model`` rebuilds it, and ONNX export, evaluation and the face pipeline
use it like any single model.

* Members are aligned by label name: the ensemble's labels (by default those every member shares, in the
  first member's order) index each member's outputs; a member's probabilities are renormalised over them.
* Each member sees the input as it was trained: the ensemble's tensor (normalised with the ensemble's
  preprocessing) is re-normalised, centre-cropped to the member's field of view and resized to its input size.
* ``mode="decision"``: features are the members' aligned log-probabilities (B, M*C); the head combines them by
  ``method``: ``vote`` (majority; ties broken by the mean probability), ``mean`` (simple average),
  ``weighted`` (average with the ``head.weight`` buffer, fitted on held-out data, see
  ferkit.training.ensemble_fit) or ``hierarchical`` (probability average inside each committee of ``groups``,
  then a majority vote of the committees). The head returns log-scores, so a softmax gives the fused
  distribution.
* ``mode="feature"``: features are the members' L2-normalised penultimate vectors, concatenated; the head is a
  trained linear layer. Members' own heads are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ferkit.errors import ModelError
from ferkit.labels import CANONICAL, align, canonical
from ferkit.models.base import Classifier
from ferkit.models.registry import create_model, register_model
from ferkit.transforms.preprocess import Preprocess

MODES = ("decision", "feature")
METHODS = ("vote", "mean", "weighted", "hierarchical")
_TIE_BREAK = 1e-3  # share of the mean probability mixed into vote counts


def shared_labels(label_sets: Sequence[Sequence[str]]) -> list[str]:
    """Labels every set has (by canonical name), in the first set's order."""
    common = set.intersection(*({canonical(n) for n in s} for s in label_sets))
    return [n for n in label_sets[0] if canonical(n) in common]


def ensemble_preprocess(member_preprocess: Sequence[Preprocess]) -> Preprocess:
    """The widest field of view any member uses, at the first member's source size and normalisation."""
    first = member_preprocess[0]
    illum = {p.illumination for p in member_preprocess}
    if len(illum) > 1:
        raise ModelError(
            f"ensemble: members use different illumination normalisations {sorted(illum)}; "
            "it happens before the network, so they cannot share one input"
        )
    fov = max(p.input_size / p.source_size for p in member_preprocess)
    return Preprocess(
        source_size=first.source_size,
        input_size=min(first.source_size, round(first.source_size * fov)),
        in_chans=max(p.in_chans for p in member_preprocess),
        mean=list(first.mean),
        std=list(first.std),
        illumination=first.illumination,
    )


class Member(nn.Module):
    """One member classifier plus the mapping from the ensemble's input and labels to its own."""

    def __init__(
        self,
        model: nn.Module,
        labels: Sequence[str],
        preprocess: Preprocess,
        ens_pre: Preprocess,
        ens_labels: Sequence[str] | None,
    ):
        """ens_labels: the ensemble's labels to pick from this member's outputs (None: features only)."""
        super().__init__()
        self.model = model
        if ens_labels is not None:
            pairs = dict(align(ens_labels, labels))  # ensemble index -> member index
            missing = [n for i, n in enumerate(ens_labels) if i not in pairs]
            if missing:
                raise ModelError(f"ensemble: member with labels {list(labels)} lacks {missing}")
            self.register_buffer("index", torch.tensor([pairs[i] for i in range(len(ens_labels))]), persistent=False)
        chans = preprocess.in_chans

        # x_member = (x_ens * std_e + mean_e - mean_m) / std_m = x_ens * scale + shift
        def per_channel(v: list[float]) -> torch.Tensor:
            return torch.tensor((list(v) * chans)[:chans] if len(v) == 1 else list(v), dtype=torch.float32)

        std_e, mean_e = per_channel(ens_pre.std), per_channel(ens_pre.mean)
        std_m, mean_m = per_channel(preprocess.std), per_channel(preprocess.mean)
        self.register_buffer("scale", (std_e / std_m).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("shift", ((mean_e - mean_m) / std_m).view(1, -1, 1, 1), persistent=False)
        self.in_chans = chans
        self.input_size = preprocess.input_size
        # share of the ensemble's input that this member's crop covers
        self.fov = (preprocess.input_size / preprocess.source_size) / (ens_pre.input_size / ens_pre.source_size)

    def adapt(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.in_chans:
            x = x.mean(1, keepdim=True).expand(-1, self.in_chans, -1, -1)
        x = x * self.scale + self.shift
        if self.fov < 1:
            side = int(x.shape[-1])  # a plain int, so the crop is a constant of an exported graph
            keep = max(1, round(side * self.fov))
            off = (side - keep) // 2
            x = x[..., off : off + keep, off : off + keep]
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(self.adapt(x))

    def log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_ensemble) log-probabilities renormalised over the ensemble's labels."""
        logits = self.model.forward_head(self.features(x))
        return F.log_softmax(logits.index_select(1, self.index), dim=1)


class DecisionHead(nn.Module):
    """(B, M*C) member log-probabilities -> (B, C) fused log-scores."""

    def __init__(
        self, num_members: int, num_classes: int, method: str = "mean", groups: Sequence[Sequence[int]] | None = None
    ):
        super().__init__()
        if method not in METHODS:
            raise ModelError(f"ensemble: unknown method {method!r}; choose from {', '.join(METHODS)}")
        if method == "hierarchical":
            flat = sorted(i for g in groups or [] for i in g)
            if flat != list(range(num_members)):
                raise ModelError(
                    f"ensemble: hierarchical needs groups covering members 0..{num_members - 1} "
                    f"exactly once, got {groups}"
                )
        self.method, self.num_members, self.num_classes = method, num_members, num_classes
        self.groups = [list(g) for g in groups] if groups else None
        self.register_buffer("weight", torch.full((num_members,), 1.0 / num_members))

    @staticmethod
    def _vote(probs: torch.Tensor) -> torch.Tensor:
        """(B, K, C) -> (B, C) vote shares of the K voters, ties broken by their mean probability."""
        votes = (probs == probs.max(-1, keepdim=True).values).to(probs.dtype)
        votes = votes / votes.sum(-1, keepdim=True)
        return (1 - _TIE_BREAK) * votes.mean(1) + _TIE_BREAK * probs.mean(1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        probs = features.view(features.shape[0], self.num_members, self.num_classes).exp()
        if self.method == "vote":
            score = self._vote(probs)
        elif self.method == "mean":
            score = probs.mean(1)
        elif self.method == "weighted":
            w = self.weight / self.weight.sum()
            score = (w.view(1, -1, 1) * probs).sum(1)
        else:
            committees = torch.stack([probs[:, g].mean(1) for g in self.groups], 1)
            score = self._vote(committees)
        return score.clamp_min(1e-12).log()

    def extra_repr(self) -> str:
        return f"method={self.method}, members={self.num_members}, classes={self.num_classes}"


class Ensemble(Classifier):
    def __init__(
        self,
        members: Sequence[dict],
        labels: Sequence[str],
        in_chans: int = 1,
        mode: str = "decision",
        method: str = "mean",
        groups: Sequence[Sequence[int]] | None = None,
        drop_rate: float = 0.0,
    ):
        super().__init__()
        if mode not in MODES:
            raise ModelError(f"ensemble: unknown mode {mode!r}; choose from {', '.join(MODES)}")
        if len(members) < 1:
            raise ModelError("ensemble: needs at least one member")
        self.specs = [dict(s) for s in members]
        self.labels = tuple(labels)
        self.mode, self.method = mode, method
        self.groups = [list(g) for g in groups] if groups else None
        member_pre = [Preprocess.from_dict(s.get("preprocess", {})) for s in self.specs]
        self.preprocess = ensemble_preprocess(member_pre)
        built = []
        for spec, pre in zip(self.specs, member_pre):
            m_labels = spec.get("labels") or list(self.labels)
            model = create_model(
                spec["arch"], num_classes=len(m_labels), in_chans=pre.in_chans, **spec.get("arch_kwargs", {})
            )
            if mode == "feature":
                model.reset_classifier(0)
            built.append(Member(model, m_labels, pre, self.preprocess, self.labels if mode == "decision" else None))
        self.members = nn.ModuleList(built)
        self.drop = nn.Dropout(drop_rate)
        if mode == "decision":
            self.num_features = len(built) * len(self.labels)
            self.head = DecisionHead(len(built), len(self.labels), method, self.groups)
        else:
            self.num_features = sum(m.model.num_features for m in built)
            self.head = nn.Linear(self.num_features, len(self.labels))
        self.num_classes = len(self.labels)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "decision":
            return torch.cat([m.log_probs(x) for m in self.members], 1)
        return torch.cat([F.normalize(m.features(x), dim=1) for m in self.members], 1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        if isinstance(self.head, DecisionHead):
            return self.head(features)
        return self.head(self.drop(features))

    def member_log_probs(self, x: torch.Tensor) -> torch.Tensor:
        """(B, M, C) aligned member log-probabilities (for fitting weights)."""
        return torch.stack([m.log_probs(x) for m in self.members], 1)

    def arch_kwargs(self) -> dict[str, Any]:
        """What ``create_model('ensemble', ...)`` needs to rebuild this ensemble (weights come separately)."""
        kw: dict[str, Any] = {
            "members": self.specs,
            "labels": list(self.labels),
            "mode": self.mode,
            "method": self.method,
        }
        if self.groups:
            kw["groups"] = self.groups
        return kw


def _default_members(num_classes: int, in_chans: int) -> list[dict]:
    pre = Preprocess(in_chans=in_chans).to_dict()
    return [{"arch": "ferresnet_s", "preprocess": pre}, {"arch": "ferresnet_s", "preprocess": pre}]


@register_model
def ensemble(
    num_classes: int = 7,
    in_chans: int = 1,
    members: list[dict] | None = None,
    labels: list[str] | None = None,
    mode: str = "feature",
    method: str = "mean",
    groups: list[list[int]] | None = None,
    drop_rate: float = 0.0,
) -> Ensemble:
    """Ensemble of ``members`` (dicts: arch, arch_kwargs, labels, preprocess). Without members: two
    fresh ferresnet_s, feature-level (a template; real ensembles come from ``build_ensemble``)."""
    if members is None:
        members = _default_members(num_classes, in_chans)
    if labels is None:
        sets = [m["labels"] for m in members if m.get("labels")]
        labels = shared_labels(sets) if sets else list(CANONICAL[:num_classes])
    if len(labels) != num_classes:
        raise ModelError(f"ensemble: {len(labels)} labels but num_classes={num_classes}")
    return Ensemble(members, labels, in_chans, mode, method, groups, drop_rate)


def build_ensemble(
    loaded: Sequence,
    mode: str = "decision",
    method: str = "mean",
    labels: Sequence[str] | None = None,
    groups: Sequence[Sequence[int]] | None = None,
) -> Ensemble:
    """An ensemble of LoadedModels (ferkit.models.checkpoint), their weights copied in; labels default to
    the labels all members share."""
    if not loaded:
        raise ModelError("ensemble: no members given")
    labels = list(labels) if labels else shared_labels([lm.labels for lm in loaded])
    if not labels:
        raise ModelError(f"ensemble: the members share no label ({[list(lm.labels) for lm in loaded]})")
    specs = [
        {
            "arch": lm.arch,
            "arch_kwargs": dict(lm.meta.get("arch_kwargs", {})),
            "labels": list(lm.labels),
            "preprocess": lm.preprocess.to_dict(),
        }
        for lm in loaded
    ]
    ens = create_model(
        "ensemble",
        num_classes=len(labels),
        in_chans=max(lm.preprocess.in_chans for lm in loaded),
        members=specs,
        labels=labels,
        mode=mode,
        method=method,
        groups=[list(g) for g in groups] if groups else None,
    )
    for member, lm in zip(ens.members, loaded):
        state = {k: v for k, v in lm.model.state_dict().items() if k in member.model.state_dict()}
        member.model.load_state_dict(state, strict=True)
    return ens.eval()
