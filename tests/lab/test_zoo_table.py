"""The zoo table: epoch columns (partial, early stop, still training), comparisons with Welch's verdicts, rows
carried from the earlier table, and ensembles of the members' saved probabilities; from fake run folders."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import SimpleNamespace

import pytest
from fake_runs import fake_scored_run
from lab_tools import load_zoo_tool


@pytest.fixture
def zoo():
    """The table and the modules it reads through, as the table uses them, its lookups pointed at nothing."""
    table = load_zoo_tool("zoo_table")
    parts = {name: importlib.import_module(f"zoo_{name}") for name in ("records", "carried", "compare", "ensembles")}
    return SimpleNamespace(table=table, **parts)


def _run_folder(tmp_path: Path, metrics: str, config: str) -> Path:
    """A run folder with only metrics.csv and config.yaml (what the epoch columns read)."""
    run = tmp_path / "row_s0"
    run.mkdir()
    (run / "metrics.csv").write_text(metrics)
    (run / "config.yaml").write_text(config)
    return run


def test_a_run_stopped_at_its_budget_is_marked_partial(zoo, tmp_path):
    run = _run_folder(tmp_path, "epoch,train_loss,val_acc\n1,1.9,0.30\n2,1.7,0.42\n3,1.6,0.40\n", "epochs: 200\n")
    numbers = zoo.records.epochs(run)
    assert numbers["selected_epoch"] == 2 and numbers["last_epoch"] == 3 and numbers["epochs_planned"] == 200
    assert zoo.records.epoch_text(numbers) == "2/3 of 200, partial"
    (run / "config.yaml").write_text("epochs: 3\n")
    assert zoo.records.epoch_text(zoo.records.epochs(run)) == "2/3"


def test_a_run_finished_by_early_stopping_is_not_partial(zoo, tmp_path):
    run = _run_folder(
        tmp_path, "epoch,val_acc\n1,0.30\n2,0.42\n3,0.40\n4,0.41\n", "epochs: 200\nearly_stop_patience: 2\n"
    )
    assert zoo.records.epoch_text(zoo.records.epochs(run)) == "2/4 of 200, early stop (patience 2)"
    (run / "config.yaml").write_text("epochs: 200\nearly_stop_patience: 3\n")  # one epoch short of stopping
    assert zoo.records.epoch_text(zoo.records.epochs(run)) == "2/4 of 200, partial"


def test_rank_verdict_ranks_only_differences_beyond_seed_noise(zoo):
    diff, p, verdict = zoo.compare.rank_verdict([0.80, 0.81, 0.80], [0.70, 0.71, 0.70])
    assert diff == pytest.approx(0.10) and p < 0.05 and verdict == "higher"
    assert zoo.compare.rank_verdict([0.70, 0.71, 0.70], [0.80, 0.81, 0.80])[2] == "lower"
    diff, p, verdict = zoo.compare.rank_verdict([0.80, 0.83, 0.78], [0.79, 0.82, 0.80])
    assert p > 0.05 and verdict.startswith("cannot rank: the difference is within")
    assert zoo.compare.rank_verdict([0.8], [0.7, 0.71])[1:] == (
        None,
        "cannot rank: needs at least 2 finished seeds per row",
    )


def test_comparison_section_gives_means_and_verdicts(zoo, tmp_path):
    rows = {n: {"name": n, "seeds": [0, 1, 2]} for n in ("a", "b", "c")}
    for s, (acc_a, acc_b) in enumerate([(0.80, 0.70), (0.81, 0.71), (0.80, 0.70)]):
        fake_scored_run(tmp_path / f"a_s{s}", acc_a, 0.3 + 0.01 * s)
        fake_scored_run(tmp_path / f"b_s{s}", acc_b, 0.31 - 0.01 * s)
    text = "\n".join(zoo.compare.comparison_lines({"title": "T", "rows": ["a", "b", "c"]}, tmp_path, rows))
    assert "| a | 3/3 | 80.33 +- 0.58 |" in text and "| c | 0/3 | - |" in text
    assert "s0: 80.00 / 0.700 / 30.0; s1: 81.00 / 0.710 / 31.0; s2: 80.00 / 0.700 / 32.0 |" in text  # per seed
    assert "a vs b: PublicTest accuracy +10.00 points" in text and "higher" in text
    assert "rarest-class recall +1.00 points, p = 0.288: cannot rank" in text
    assert "a vs c: no verdict yet" in text


EARLIER_TABLE = """\
# Model zoo

| row | data | PublicTest acc % | flip TTA % | macro-F1 | rarest-class recall % | params (M) | MMACs | ONNX ms/face | selected/last epoch | last-epoch acc % | published |
|---|---|---|---|---|---|---|---|---|---|---|---|
| lost | fer2013 | 61.00 | 62.00 | 0.600 | 40.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 | 60.00 | 64.81% |
| lost (fer2013 head) | fer2013 | 63.00 | 64.00 | 0.610 | 41.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 | 62.00 | n/a |
| trio (3/3 seeds) | ferplus | 80.00 +- 0.10 | 81.00 +- 0.10 | 0.700 | 10.00 +- 1.00 (contempt) | 1.000 | 10.0 | 0.50 | 1/2; 2/2; 2/2 | 79.00 +- 0.10 | n/a |
| kept | fer2013 | 50.00 | 51.00 | 0.500 | 30.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 | 49.00 | n/a |
| never | fer2013 | no finished run | | | | | | | | | n/a |

## Comparisons

### T

| row | finished seeds | PublicTest acc % |
|---|---|---|
| trio | 3/3 | 80.00 +- 0.10 |

## Runs and sources

- **lost**: CPU x2, 10.0 min wall per run; `ferkit train`.
- **kept**: CPU x2, 5.0 min wall per run; `ferkit train`.
"""


def test_rows_whose_records_were_lost_are_carried_from_the_earlier_table_and_marked(zoo, tmp_path):
    zoo.carried.EARLIER = tmp_path / "zoo_earlier.md"
    zoo.carried.EARLIER.write_text(EARLIER_TABLE)
    earlier = zoo.carried.earlier_records()
    assert set(earlier["rows"]) == {"lost", "lost (fer2013 head)", "trio", "kept"}  # "never" has no numbers
    mark = zoo.carried.CARRIED
    lost = {"name": "lost", "seeds": [0], "eval": {"dataset": "fer2013", "aux": {"fer2013": {"dataset": "fer2013"}}}}
    lines, notes = zoo.table.row_lines(lost, tmp_path, None, earlier)
    assert lines == [
        f"| lost {mark} | fer2013 | 61.00 | 62.00 | 0.600 | 40.00 (disgust) | 1.000 | 10.0 | 0.50 | 9/10 "
        "| 60.00 | 64.81% |",
        f"| lost (fer2013 head) {mark} | fer2013 | 63.00 | 64.00 | 0.610 | 41.00 (disgust) | 1.000 | 10.0 "
        "| 0.50 | 9/10 | 62.00 | n/a |",
    ]
    assert notes == [f"- **lost** {mark}: CPU x2, 10.0 min wall per run; `ferkit train`."]
    trio = {"name": "trio", "seeds": [0, 1, 2], "eval": {"dataset": "ferplus"}}
    assert zoo.table.row_lines(trio, tmp_path, None, earlier)[0][0].startswith(
        f"| trio (3/3 seeds) {mark} | ferplus | 80.00"
    )
    never = {"name": "never", "seeds": [0], "eval": {"dataset": "fer2013"}}
    assert "no finished run" in zoo.table.row_lines(never, tmp_path, None, earlier)[0][0]
    # a row with a run of its own is recomputed from it, never carried
    fake_scored_run(tmp_path / "kept_s0", 0.70, 0.5)
    kept = {"name": "kept", "seeds": [0], "eval": {"dataset": "fer2013"}}
    lines, notes = zoo.table.row_lines(kept, tmp_path, None, earlier)
    assert lines[0].startswith("| kept | fer2013 | 70.00 |") and mark not in lines[0] + notes[0]
    # a comparison none of whose rows has a run keeps the earlier section, said to be carried
    rows = {"trio": trio, "kept": kept}
    text = "\n".join(zoo.compare.comparison_lines({"title": "T", "rows": ["trio"]}, tmp_path, rows, earlier))
    assert text.startswith("### T") and f"{mark} Carried unchanged" in text and "| trio | 3/3 | 80.00 +- 0.10 |" in text
    text = "\n".join(zoo.compare.comparison_lines({"title": "T", "rows": ["kept", "trio"]}, tmp_path, rows, earlier))
    assert "Carried" not in text and "| kept | 1/1 | 70.00 |" in text
    assert "Carried" not in "\n".join(
        zoo.compare.comparison_lines({"title": "U", "rows": ["trio"]}, tmp_path, rows, earlier)
    )


def test_comparison_leaves_out_runs_stopped_at_their_budget(zoo, tmp_path):
    rows = {n: {"name": n, "seeds": [0, 1]} for n in ("a", "b")}
    for name in rows:
        for s in (0, 1):
            fake_scored_run(tmp_path / f"{name}_s{s}", 0.8, 0.3)
            (tmp_path / f"{name}_s{s}" / "metrics.csv").write_text("epoch,val_acc\n1,0.7\n2,0.8\n")
            (tmp_path / f"{name}_s{s}" / "config.yaml").write_text(f"epochs: {2 if s == 0 else 30}\n")
    text = "\n".join(zoo.compare.comparison_lines({"title": "T", "rows": ["a", "b"]}, tmp_path, rows))
    assert "| a | 1/2 |" in text and "needs at least 2 finished seeds" in text


def _fake_scores(
    folder: Path, predictions: list[int], hard: list[int], confidence: float, labels=("a", "b", "c"), head: str = "main"
) -> None:
    """A scored run whose saved flip-TTA probabilities (of ``head``) put ``confidence`` on each image's predicted
    column."""
    import numpy as np

    if not (folder / "zoo_run.json").is_file():
        fake_scored_run(folder, 0.5, 0.5)
    if head != "main":
        import shutil

        shutil.copy(folder / "eval_main_none.json", folder / f"eval_{head}_none.json")
    scores = np.full((len(hard), 3), (1 - confidence) / 2)
    scores[np.arange(len(hard)), predictions] = confidence
    np.savez_compressed(
        folder / f"scores_{head}_flip.npz",
        scores=scores,
        labels=np.array(labels),
        dataset_labels=np.array(["a", "b", "c"]),
        hard=np.array(hard),
    )


def test_ensemble_section_averages_the_saved_probabilities(zoo, tmp_path):
    rows = {n: {"name": n, "seeds": [0]} for n in ("x", "y", "z", "w")}
    hard = [2, 1, 2, 0, -1]  # -1: no label in this protocol, left out
    _fake_scores(tmp_path / "x_s0", [0, 1, 0, 1, 0], hard, 0.5)  # predicts a b a b: right once
    _fake_scores(tmp_path / "y_s0", [0, 0, 2, 1, 0], hard, 0.6)  # a a c b: right once
    # z lists its labels as c, a, b: its columns are aligned by name, so it predicts c a c a (right 3 times)
    _fake_scores(tmp_path / "z_s0", [0, 1, 0, 1, 0], hard, 0.8, labels=("c", "a", "b"))
    text = "\n".join(zoo.ensembles.ensemble_lines({"title": "E", "rows": ["x", "y", "z", "w"]}, tmp_path, rows))
    assert "(n=4)" in text
    assert "| x_s0 alone | 25.00 |" in text and "| y_s0 alone | 25.00 |" in text and "| z_s0 alone | 75.00 |" in text
    # mean probabilities, e.g. image 3 (truth a) with all three: a = (.25 + .2 + .8) / 3 beats b = (.5 + .6 + .1) / 3
    assert "| **all 3** | **75.00** |" in text
    assert "| all but x_s0 | 75.00 |" in text and "| all but y_s0 | 75.00 |" in text
    assert "| all but z_s0 | 25.00 |" in text and "w_s0" not in text  # w has no scored run
    one = "\n".join(zoo.ensembles.ensemble_lines({"title": "E", "rows": ["x", "w"]}, tmp_path, rows))
    assert "Needs at least two scored members; has 1." in one


def test_ensemble_member_can_be_an_auxiliary_head(zoo, tmp_path):
    """``row:head`` takes that head's saved probabilities (e.g. the fer2013 head of a multi-task student)."""
    rows = {n: {"name": n, "seeds": [0]} for n in ("x", "m")}
    hard = [2, 1, 2, 0]
    _fake_scores(tmp_path / "x_s0", [0, 1, 0, 1], hard, 0.5)  # right once
    _fake_scores(tmp_path / "m_s0", [2, 2, 2, 2], hard, 0.9)  # main head: right twice
    _fake_scores(tmp_path / "m_s0", [2, 1, 2, 0], hard, 0.9, head="aux")  # aux head: right 4 times
    text = "\n".join(zoo.ensembles.ensemble_lines({"title": "E", "rows": ["x", "m:aux"]}, tmp_path, rows))
    assert "| m_s0 (aux head) alone | 100.00 |" in text and "| x_s0 alone | 25.00 |" in text
    assert "| **all 2** | **100.00** |" in text
    main = "\n".join(zoo.ensembles.ensemble_lines({"title": "E", "rows": ["x", "m"]}, tmp_path, rows))
    assert "| m_s0 alone | 50.00 |" in main


def test_a_run_trained_further_after_its_scoring_is_marked(zoo, tmp_path):
    import os

    run = tmp_path / "row_s0"
    fake_scored_run(run, 0.6, 0.2)
    (run / "config.yaml").write_text("epochs: 200\n")
    (run / "metrics.csv").write_text("epoch,val_acc\n1,0.5\n2,0.6\n")
    older = (run / "metrics.csv").stat().st_mtime - 60
    os.utime(run / "eval_main_none.json", (older, older))
    numbers = zoo.records.run_numbers(run)
    assert numbers["stale"] and zoo.records.epoch_text(numbers).endswith(
        "still training; scores are of an earlier slice"
    )
