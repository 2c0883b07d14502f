"""Fake zoo run folders for the tests of the zoo's driver and table: the files a scored run leaves, no training."""

from __future__ import annotations

import json
from pathlib import Path


def fake_scored_run(folder: Path, acc: float, rare_recall: float) -> None:
    """A run folder with a PublicTest evaluation (accuracy ``acc``, the rare class "contempt" at ``rare_recall``)
    and a zoo_run.json record."""
    folder.mkdir(parents=True)
    per_class = {"neutral": {"recall": 0.9, "support": 1000}, "contempt": {"recall": rare_recall, "support": 13}}
    (folder / "eval_main_none.json").write_text(
        json.dumps({"accuracy": acc, "macro_f1": acc - 0.1, "n": 1013, "per_class": per_class})
    )
    (folder / "zoo_run.json").write_text(json.dumps({"hardware": "test", "wall_seconds": 60, "command": "x"}))
