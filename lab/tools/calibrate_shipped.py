"""Calibrate every shipped model on PublicTest and put the result in its files and card.

    python lab/tools/calibrate_shipped.py [--models ferplus fer2013] [--data-root DIR]

For each model: fit the temperature (``ferkit.evaluation.calibrate_model``), store it in ``<name>.pt``
(atomically), draw ``<name>_reliability.png`` (before/after), add ECE/NLL to ``<name>.json`` and write the
card's "Calibrated probabilities" section. Re-running replaces all of these (the fit starts from raw logits).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ship_model import OUT, apply_calibration  # noqa: E402

DATASETS = {"ferplus": "ferplus", "fer2013": "fer2013"}  # shipped model -> dataset it is calibrated on


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=sorted(DATASETS))
    ap.add_argument("--data-root")
    ap.add_argument("--out-dir", default=str(OUT))
    args = ap.parse_args(argv)
    for name in args.models:
        record = apply_calibration(Path(args.out_dir), name, DATASETS[name], args.data_root)
        b, a = record["before"], record["after"]
        print(
            f"{name}: T = {record['temperature']:.4f}; ECE {b['ece']:.4f} -> {a['ece']:.4f}, "
            f"NLL {b['nll']:.4f} -> {a['nll']:.4f} (n={record['n']})"
        )


if __name__ == "__main__":
    main()
