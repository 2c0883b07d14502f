"""The zoo table's ensembles (``ensembles:`` in zoo.yaml): the mean of the members' saved PublicTest
probabilities (scores_main_<tta>.npz of lab/tools/zoo_score.py; a member written ``row:head`` is that row's
auxiliary head, scores_<head>_<tta>.npz), all members and each leave-one-out, beside every member alone."""

from __future__ import annotations

from pathlib import Path

from zoo_carried import carried_section
from zoo_records import run_folder, run_numbers


def member_scores(run: Path, tta: str, head: str = "main") -> tuple | None:
    """(scores over the split's labels in dataset order, hard labels, dataset labels) of a scored run's head, or
    None."""
    path = run / f"scores_{head}_{tta}.npz"
    if not path.is_file():
        return None
    import numpy as np

    with np.load(path) as z:
        scores, labels, names, hard = z["scores"], list(z["labels"]), list(z["dataset_labels"]), z["hard"]
    aligned = np.zeros((len(scores), len(names)), np.float64)
    for i, name in enumerate(names):
        if name in labels:
            aligned[:, i] = scores[:, labels.index(name)]
    return aligned / np.maximum(aligned.sum(1, keepdims=True), 1e-12), hard, names


def ensemble_lines(spec: dict, runs_root: Path, rows: dict[str, dict], earlier: dict | None = None) -> list[str]:
    """A manifest ensemble (``ensembles:`` in zoo.yaml): the mean of its rows' saved PublicTest probabilities
    (every scored seed of each row), all members and each leave-one-out, beside every member alone. With no
    scored member, the ``earlier`` table's section of the same title, if there is one."""
    import numpy as np

    from ferkit.evaluation.metrics import accuracy, confusion_matrix, macro_f1

    tta = spec.get("tta", "flip")
    members = {}
    for member in spec["rows"]:
        name, _, head = member.partition(":")  # "row:head": an auxiliary head of a multi-task row
        head = head or "main"
        for seed in rows[name].get("seeds", [0]):
            run = run_folder(runs_root, f"{name}_s{seed}")
            got = member_scores(run, tta, head)
            numbers = run_numbers(run, head)
            if got is not None and numbers:
                members[run.name if head == "main" else f"{run.name} ({head} head)"] = (got, numbers)
    if not members and (carried := carried_section(spec["title"], earlier)):
        return carried
    out = [f"### {spec['title']}", ""]
    if len(members) < 2:
        return out + [f"Needs at least two scored members; has {len(members)}.", ""]
    hards = [g[1] for g, _ in members.values()]
    if any(len(h) != len(hards[0]) or (h != hards[0]).any() for h in hards):
        return out + ["The members were scored on different images (e.g. an evaluation subset): no ensemble.", ""]
    hard = hards[0]
    keep = hard >= 0

    def score(names: list[str]) -> tuple[float, float]:
        p = np.mean([members[n][0][0] for n in names], axis=0)[keep]
        cm = confusion_matrix(hard[keep], p.argmax(1), p.shape[1])  # the metrics `ferkit evaluate` reports
        return accuracy(cm), macro_f1(cm)

    out += [
        f"Mean of the members' {tta}-TTA probabilities on PublicTest (n={int(keep.sum())}); a member still "
        "training is scored with its best weights so far (see its row above).",
        "",
        "| members | accuracy % | macro-F1 |",
        "|---|---|---|",
    ]
    names = list(members)
    for n in names:
        acc, f1 = score([n])
        partial = "" if members[n][1].get("finished", True) else " (partial)"
        out.append(f"| {n}{partial} alone | {100 * acc:.2f} | {f1:.3f} |")
    acc, f1 = score(names)
    out.append(f"| **all {len(names)}** | **{100 * acc:.2f}** | **{f1:.3f}** |")
    if len(names) > 2:
        for n in names:
            acc, f1 = score([m for m in names if m != n])
            out.append(f"| all but {n} | {100 * acc:.2f} | {f1:.3f} |")
    return out + [""]
