"""Knowledge distillation: the student learns from the labels and from an ensemble of trained teachers.

``loss.distill.teachers`` lists ferkit model files (or shipped model names). On every training step the
teachers see the same augmented batch as the student; their temperature-softened probabilities are averaged
(the ensemble's soft targets) and the student's main-head loss becomes

    (1 - weight) * label loss  +  weight * T^2 * KL(teachers_T || student_T)

(Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network"; T^2 keeps the soft term's
gradient scale independent of T). The soft term covers every sample of the batch, also those without a main
label (a multitask run's auxiliary-only rows). ``loss.distill.aux_teachers`` does the same for a multitask run's
auxiliary heads (e.g. ``{fer2013: [runs/t0/best_fer2013.pt]}``), with the same weight and temperature. Teachers are
frozen, run under the same autocast, and are not
part of the student's checkpoint. They must read the same crops as the student (source size, channels,
normalisation, illumination) and know every student label; their label order is mapped onto the student's.
A teacher whose network input side differs (e.g. a 48-px teacher for a student that sees the 40-px centre crop)
gets the student's augmented batch resized to its side (bilinear): the student's crop window, at the teacher's
resolution.

``loss.distill.offline: true`` trades that for speed: before the first epoch the teachers score every training
image once, its centre crop and the crop's mirror image (the mean of the two, so the target fits the student's
random flips), and the student then trains at its own step rate, each augmented view learning the clean image's
soft targets. The targets are kept in ``OUT/teacher_targets.pt`` (written atomically) and reused by ``--resume``
while the teachers, temperature, labels and training images are the same.

``loss.distill.views: K`` keeps the teachers consistent with the student's augmentations at offline cost (in the
spirit of Shen & Xing 2021, "A Fast Knowledge Distillation Framework for Visual Recognition", which stores each
augmented crop's soft labels; Beyer et al. 2022, "Knowledge distillation: A good teacher is patient and
consistent", on why teacher and student should see the same view): K augmented views of every training image are
drawn once with the run's augmentation (their own seeded generator), the teachers score each view, and epoch e
trains on view e mod K with that view's targets. It costs K teacher passes per image instead of two, and the
student sees K distinct augmentations of each image instead of a fresh one every epoch.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ferkit.errors import ConfigError, FerkitError
from ferkit.models.weights import file_sha256
from ferkit.transforms.preprocess import Preprocess

log = logging.getLogger(__name__)

SAME_INPUT = ("source_size", "in_chans", "mean", "std", "illumination")


@dataclass
class DistillConfig:
    teachers: list[str] = field(default_factory=list)  # model files or shipped names; empty: no distillation
    aux_teachers: dict[str, list[str]] = field(default_factory=dict)  # per auxiliary head (multitask runs)
    weight: float = 0.5  # share of the soft-target term in the main loss
    temperature: float = 4.0  # softening of teacher and student logits
    offline: bool = False  # score the training images once, before training
    views: int = 0  # offline: K augmented views per image (0: the clean crop)
    sha256: dict[str, str] = field(default_factory=dict)  # teacher (file or shipped name) -> the SHA-256 (or a
    # prefix of >= 12 hex digits) its file must have


def validate(cfg: DistillConfig) -> None:
    if not 0 <= cfg.weight <= 1:
        raise ConfigError(f"loss.distill.weight must be in [0, 1], got {cfg.weight}")
    if cfg.temperature <= 0:
        raise ConfigError(f"loss.distill.temperature must be > 0, got {cfg.temperature}")
    if cfg.views < 0:
        raise ConfigError(f"loss.distill.views must be >= 0, got {cfg.views}")
    if cfg.views and not cfg.offline:
        raise ConfigError(
            "loss.distill.views needs loss.distill.offline: true (online teachers see every augmented batch anyway)"
        )
    for head, sources in cfg.aux_teachers.items():
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            raise ConfigError(f"loss.distill.aux_teachers.{head} must be a list of model files or names")
    check_teacher_digests(cfg)


def check_teacher_digests(cfg: DistillConfig) -> None:
    """Every teacher pinned in ``loss.distill.sha256`` is a teacher of this recipe and its file has that digest, so
    a re-shipped model name or a replaced file cannot silently change what a recorded recipe learns from."""
    from ferkit import pretrained

    named = set(cfg.teachers) | {t for sources in cfg.aux_teachers.values() for t in sources}
    for source, expected in cfg.sha256.items():
        if source not in named:
            raise ConfigError(f"loss.distill.sha256 pins {source!r}, which is not one of the recipe's teachers")
        expected = str(expected).lower()
        if len(expected) < 12 or any(c not in "0123456789abcdef" for c in expected):
            raise ConfigError(f"loss.distill.sha256.{source}: {expected!r} is not a SHA-256 (>= 12 hex digits)")
        try:
            actual = file_sha256(pretrained.resolve(source))
        except FerkitError as e:
            raise ConfigError(f"loss.distill.sha256: {e}") from None
        if not actual.startswith(expected):
            raise ConfigError(
                f"loss.distill.sha256: teacher {source} has SHA-256 {actual[:16]}..., the recipe "
                f"pins {expected[:16]}... (other weights than the recipe's; restore the file, e.g. "
                "from git history, or change the recipe)"
            )


class Teachers:
    """Frozen teacher networks whose averaged softened probabilities are the soft targets (not an nn.Module,
    so the student's checkpoints, optimiser, EMA and DDP never see their weights)."""

    def __init__(
        self,
        sources: list[str],
        labels: tuple[str, ...],
        preprocess: Preprocess,
        temperature: float,
        device: torch.device,
        channels_last: bool = True,
    ):
        from ferkit import pretrained

        self.temperature = float(temperature)
        self.sources = list(sources)
        self.digests = []  # SHA-256 of each teacher's file: a re-shipped name is another teacher
        self.models, self.columns, self.sizes = [], [], []
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        want = preprocess.to_dict()
        for source in sources:
            try:
                loaded = pretrained.load(source)
            except FerkitError as e:
                raise ConfigError(f"loss.distill.teachers: {e}") from None
            have = loaded.preprocess.to_dict()
            differ = [k for k in SAME_INPUT if have.get(k) != want.get(k)]
            if differ:
                raise ConfigError(
                    f"loss.distill.teachers: {source} reads other inputs than the student ("
                    + ", ".join(f"{k} {have.get(k)} vs {want.get(k)}" for k in differ)
                    + ")"
                )
            missing = [name for name in labels if name not in loaded.labels]
            if missing:
                raise ConfigError(
                    f"loss.distill.teachers: {source} has no output for the student's label(s) "
                    f"{', '.join(missing)} (its labels: {', '.join(loaded.labels)})"
                )
            self.digests.append(file_sha256(pretrained.resolve(source)))
            model = loaded.model.to(device, memory_format=memory_format).eval()
            for p in model.parameters():
                p.requires_grad_(False)
            self.models.append(model)
            self.columns.append(torch.tensor([loaded.labels.index(n) for n in labels], device=device))
            self.sizes.append(int(loaded.preprocess.input_size))

    def __len__(self) -> int:
        return len(self.models)

    def subset(self, indices: list[int]) -> Teachers:
        """The ensemble of the teachers at ``indices`` (the same loaded networks, not loaded again)."""
        part = object.__new__(Teachers)
        part.temperature = self.temperature
        for name in ("sources", "digests", "models", "columns", "sizes"):
            setattr(part, name, [getattr(self, name)[i] for i in indices])
        return part

    @torch.no_grad()
    def soft_targets(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) mean over teachers of softmax(logits / T), in the student's label order (float32)."""
        total = None
        for model, cols, size in zip(self.models, self.columns, self.sizes):
            view = (
                x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
            )
            p = F.softmax(model(view).float().index_select(1, cols) / self.temperature, dim=1)
            total = p if total is None else total + p
        return total / len(self.models)


@torch.no_grad()
def _score_batches(
    score, images: torch.Tensor, to_input, device: torch.device, precision: str, batch_size: int, progress=None
) -> torch.Tensor:
    """``score(to_input(batch))`` over uint8 ``images`` in batches, under the run's autocast (float32, CPU)."""
    from ferkit.training.precision import autocast

    out = []
    for start in range(0, len(images), batch_size):
        x = to_input(images[start : start + batch_size].to(device).float().div_(255.0))
        with autocast(device, precision):
            out.append(score(x).float().cpu())
        if progress is not None:
            progress(len(x))
    return torch.cat(out)


def clean_view_targets(
    teachers: Teachers,
    images: torch.Tensor,
    preprocess: Preprocess,
    device: torch.device,
    precision: str = "fp32",
    batch_size: int = 256,
    progress=None,
) -> torch.Tensor:
    """(N, L) soft targets of uint8 training crops (N, C, source, source): the mean of the teachers' softened
    probabilities for each image's centre crop (the student's input side) and its mirror image (float32, CPU)."""
    return _score_batches(
        lambda x: (teachers.soft_targets(x) + teachers.soft_targets(x.flip(-1))) / 2,
        images,
        lambda x: preprocess.centre_crop(preprocess.normalise(x)),
        device,
        precision,
        batch_size,
        progress,
    )


@torch.no_grad()
def augmented_views(images: torch.Tensor, augment, k: int, batch_size: int = 512, progress=None) -> torch.Tensor:
    """(K, N, C, I, I) uint8: K augmented views of uint8 training crops (N, C, S, S), drawn with ``augment``
    (a seeded ``BatchAugment``, which also crops to the input side) and rounded to uint8."""
    views = []
    for _ in range(k):
        parts = []
        for start in range(0, len(images), batch_size):
            x = augment(images[start : start + batch_size].float().div_(255.0))
            parts.append(x.mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).cpu())
            if progress is not None:
                progress(len(x))
        views.append(torch.cat(parts))
    return torch.stack(views)


def view_targets(
    teachers: Teachers,
    views: torch.Tensor,
    preprocess: Preprocess,
    device: torch.device,
    precision: str = "fp32",
    batch_size: int = 256,
    progress=None,
) -> torch.Tensor:
    """(K, N, L) soft targets of augmented views (K, N, C, I, I) uint8 at the student's input side (float32, CPU)."""
    return torch.stack(
        [
            _score_batches(teachers.soft_targets, view, preprocess.normalise, device, precision, batch_size, progress)
            for view in views
        ]
    )


def images_digest(images: torch.Tensor) -> str:
    """SHA-256 of the training crops (which images, in which order), the key of a stored target file."""
    return hashlib.sha256(images.cpu().contiguous().numpy().tobytes()).hexdigest()


def _by_content(key, drop: tuple[str, ...] = ("sources",)) -> object:
    """A target file's key without the teachers' names: a teacher is its file's SHA-256, so targets stay valid when
    a recipe names the same weights by another path (a shipped model pinned under lab/weights/ before a re-ship).
    ``drop`` also ("sources", "sha256"): the key without its teachers at all."""
    if not isinstance(key, dict) or not isinstance(key.get("heads"), dict):
        return key
    heads = {
        h: {k: v for k, v in t.items() if k not in drop} if isinstance(t, dict) else t for h, t in key["heads"].items()
    }
    return {**key, "heads": heads}


def _load_stored(path: Path) -> dict | None:
    """A stored target file's contents ({"key", "targets"}); None when absent, or damaged (then scored again, not
    trusted)."""
    if not path.is_file():
        return None
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(stored, dict) or not {"key", "targets"} <= set(stored):
            raise ValueError("not a teacher target file")
    except Exception as e:
        log.warning("ignoring %s (%s); scoring the training images again", path, e)
        return None
    return stored


def offline_targets(
    path: Path,
    heads: dict[str, Teachers],
    labels: dict[str, tuple[str, ...]],
    images: torch.Tensor,
    preprocess: Preprocess,
    device: torch.device,
    precision: str = "fp32",
    progress: bool = False,
    views: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """{head: (N, L) soft targets} for ``heads`` (head name -> its teachers), read from ``path`` when it holds
    them for these teachers (their files' SHA-256, whatever they are called), temperature, labels and images, else
    computed and written there atomically.

    With ``views`` (K, N, C, I, I), the targets of each augmented view instead: {head: (K, N, L)}, keyed by the
    views' SHA-256. They are scored view by view and each finished view is kept in ``<path stem>.partial.pt``, so a
    run stopped while scoring resumes at the first view not yet scored. A stored file of the first m < K views (a
    stopped run, or a run of the same recipe with fewer views: views are drawn in order from the run's seed)
    provides those m views.

    A stored file of the same images or views made by some of this run's teachers (a recipe that adds teachers,
    e.g. a student of the previous run) is extended: only the added teachers score, and their targets are mixed
    in by teacher count."""
    from tqdm import tqdm

    from ferkit.io_utils import atomic_write

    def key_of(crops: torch.Tensor, k: int | None) -> dict:
        key = {
            "digest": images_digest(crops),
            "n": len(images),
            "heads": {
                h: {"sources": t.sources, "sha256": t.digests, "temperature": t.temperature, "labels": list(labels[h])}
                for h, t in heads.items()
            },
        }
        return key if k is None else {**key, "views": k}

    key = key_of(images if views is None else views, None if views is None else len(views))
    partial_path = path.with_name(path.stem + ".partial.pt")
    stored = _load_stored(path)
    if stored is not None and _by_content(stored["key"]) == _by_content(key):
        log.info("teacher targets read from %s", path)
        return stored["targets"]

    def score_added(added: Teachers, head: str) -> torch.Tensor:
        n = len(images) * (1 if views is None else len(views))
        with tqdm(total=n, desc=f"added teachers ({head})", unit="img", disable=not progress, leave=False) as bar:
            if views is None:
                return clean_view_targets(added, images, preprocess, device, precision, progress=bar.update)
            return view_targets(added, views, preprocess, device, precision, progress=bar.update)

    targets = _extend_stored(stored, path, key, heads, score_added)  # None: no stored file of fewer teachers
    if targets is None and views is None:
        targets = {}
        for head, teachers in heads.items():
            log.info(
                "offline distillation: %d teacher(s) of head %s score %d training images and their mirror images",
                len(teachers),
                head,
                len(images),
            )
            with tqdm(
                total=len(images), desc=f"teachers ({head})", unit="img", disable=not progress, leave=False
            ) as bar:
                targets[head] = clean_view_targets(teachers, images, preprocess, device, precision, progress=bar.update)
    elif targets is None:
        done = _stored_leading_views(
            (stored, _load_stored(partial_path)), views, lambda m: key_of(views[:m], m), list(heads)
        )
        first = len(next(iter(done.values())))
        if first:
            log.info(
                "teacher targets of the first %d of %d views read from a stored file; scoring the rest",
                first,
                len(views),
            )
        log.info(
            "offline distillation: the teachers of %s score %d images x %d augmented views",
            ", ".join(f"head {h} ({len(t)})" for h, t in heads.items()),
            len(images),
            len(views) - first,
        )
        with tqdm(
            total=len(images) * (len(views) - first) * len(heads),
            desc="teachers",
            unit="img",
            disable=not progress,
            leave=False,
        ) as bar:
            for k in range(first, len(views)):
                for head, teachers in heads.items():
                    done[head].append(
                        view_targets(teachers, views[k : k + 1], preprocess, device, precision, progress=bar.update)[0]
                    )
                so_far = {"key": key_of(views[: k + 1], k + 1), "targets": {h: torch.stack(v) for h, v in done.items()}}
                atomic_write(partial_path, lambda tmp, so_far=so_far: torch.save(so_far, tmp))
        targets = {h: torch.stack(v) for h, v in done.items()}
    atomic_write(path, lambda tmp: torch.save({"key": key, "targets": targets}, tmp))
    partial_path.unlink(missing_ok=True)  # superseded by the complete file (also one of older teachers)
    log.info("teacher targets of %d training images written to %s", len(images), path)
    return targets


def _extend_stored(
    stored: dict | None, path: Path, key: dict, heads: dict[str, Teachers], score
) -> dict[str, torch.Tensor] | None:
    """Targets for ``heads`` made from a stored file of fewer teachers: when ``stored`` (read from ``path``) holds
    targets of the same images (or views), temperature and labels whose teachers of every head are among this run's
    (by SHA-256), only the added teachers are scored (``score(Teachers, head)``) and mixed in. The targets are a
    mean over teachers, so (n_stored x stored + n_added x added) / n is exactly what scoring all n teachers gives.
    None when there is no such file, or it has every teacher already (read as it is elsewhere)."""
    if stored is None:
        return None
    have = stored["key"]
    try:
        plan = {h: _added_teachers(have["heads"][h]["sha256"], t["sha256"]) for h, t in key["heads"].items()}
    except (KeyError, TypeError):  # another head set, or a file without teacher digests
        return None
    no_teachers = ("sources", "sha256")
    if (
        None in plan.values()
        or not any(plan.values())
        or set(have["heads"]) != set(key["heads"])
        or _by_content(have, no_teachers) != _by_content(key, no_teachers)
    ):
        return None
    targets = {}
    for head, added in plan.items():
        old = stored["targets"][head]
        if not added:
            targets[head] = old
            continue
        teachers = heads[head]
        log.info(
            "offline distillation: head %s's targets of %d teacher(s) read from %s; scoring the %d added "
            "teacher(s) (%s)",
            head,
            len(teachers) - len(added),
            path,
            len(added),
            ", ".join(teachers.sources[i] for i in added),
        )
        new = score(teachers.subset(added), head)
        targets[head] = ((len(teachers) - len(added)) * old + len(added) * new) / len(teachers)
    return targets


def _added_teachers(stored: list[str], wanted: list[str]) -> list[int] | None:
    """Indices into ``wanted`` (SHA-256 of this run's teachers) of those not in ``stored``; None when ``stored`` has a
    teacher this run does not (its targets cannot be reused)."""
    left, added = list(stored), []
    for i, digest in enumerate(wanted):
        if digest in left:
            left.remove(digest)
        else:
            added.append(i)
    return None if left else added


def _stored_leading_views(files, views: torch.Tensor, key_of, heads: list[str]) -> dict[str, list[torch.Tensor]]:
    """{head: [targets of view 0, 1, ... m-1]}: the longest run of leading views that one of the stored ``files``
    (their contents, None if absent) holds for exactly these views (its key equals ``key_of(m)`` for its own
    m <= K); empty lists if none."""
    best: dict[str, list[torch.Tensor]] = {h: [] for h in heads}
    for stored in files:
        try:
            m = int(stored["key"]["views"])
        except (KeyError, TypeError, ValueError):  # absent, or not a stored-views file
            continue
        if len(best[heads[0]]) < m <= len(views) and _by_content(stored["key"]) == _by_content(key_of(m)):
            best = {h: list(stored["targets"][h][:m]) for h in heads}
    return best


def build_teachers(
    cfg: DistillConfig,
    labels: tuple[str, ...],
    aux_labels: dict[str, tuple[str, ...]],
    preprocess: Preprocess,
    device: torch.device,
    channels_last: bool = True,
) -> tuple[Teachers | None, dict[str, Teachers]]:
    """The run's teachers: for the main head (None without any) and per auxiliary head named in
    ``cfg.aux_teachers`` (each must be one of the run's auxiliary heads)."""
    unknown = sorted(set(cfg.aux_teachers) - set(aux_labels))
    if unknown:
        raise ConfigError(
            f"loss.distill.aux_teachers: {', '.join(unknown)} is not an auxiliary head of this run "
            f"(data.aux_heads: {', '.join(aux_labels) or 'none'})"
        )

    def teachers(sources: list[str], head_labels: tuple[str, ...]) -> Teachers | None:
        return Teachers(sources, head_labels, preprocess, cfg.temperature, device, channels_last) if sources else None

    aux = {name: teachers(sources, aux_labels[name]) for name, sources in cfg.aux_teachers.items() if sources}
    return teachers(cfg.teachers, labels), aux


def distillation_loss(student_logits: torch.Tensor, soft_targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(soft_targets || softmax(student / T)), averaged over the batch."""
    log_student = F.log_softmax(student_logits.float() / temperature, dim=1)
    return F.kl_div(log_student, soft_targets, reduction="batchmean") * temperature**2
