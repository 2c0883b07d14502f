"""Denoising-autoencoder pre-training + fine-tuning vs training from scratch at equal CPU time.

    python lab/tools/compare_pretraining.py --ae-config lab/configs/experiments/autoencoder/ae_fer2013.yaml \
        --finetune lab/configs/experiments/autoencoder/fer2013_finetune.yaml \
        --scratch lab/configs/experiments/autoencoder/fer2013_scratch.yaml \
        --output lab/results/autoencoder_fer2013.md [--set KEY=VALUE ...] [--ae-set KEY=VALUE ...]

1. pre-train the autoencoder (reused if its encoder file exists); its wall time is T_ae;
2. fine-tune from the encoder for the fine-tune config's epochs; its mean epoch time is t_epoch;
3. train from scratch for epochs_ft + round(T_ae / t_epoch) epochs (scratch gets the pre-training time as extra
   epochs, so both arms use about the same CPU time on the same machine);
4. evaluate both final models on PublicTest and write the table.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from ferkit.data import load_dataset
from ferkit.data.subsets import stratified_subset
from ferkit.evaluation.evaluate import evaluate_model
from ferkit.io_utils import write_json, write_text
from ferkit.models.checkpoint import load_model, read_file
from ferkit.training.autoencoder import load_ae_config, pretrain_autoencoder
from ferkit.training.config import load_config
from ferkit.training.runs import train_to_final


def _train_minutes(final: Path) -> tuple[float, int]:
    history = read_file(final).get("history", [])
    return sum(r.get("epoch_seconds", 0.0) for r in history) / 60, len(history)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ae-config", required=True)
    p.add_argument("--finetune", required=True, help="training config that fine-tunes from the encoder")
    p.add_argument("--scratch", required=True, help="the same training config without pre-training")
    p.add_argument("--output", required=True)
    p.add_argument("--out-root", default="runs/experiments")
    p.add_argument("--eval-split", default="PublicTest")
    p.add_argument("--eval-subset", type=int)
    p.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="overrides for both training configs",
    )
    p.add_argument(
        "--ae-set",
        dest="ae_overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="overrides for the autoencoder config",
    )
    args = p.parse_args(argv)
    ae = load_ae_config(args.ae_config, args.ae_overrides)
    encoder = Path(ae.out)
    if not encoder.is_file():
        pretrain_autoencoder(ae, progress=True)
    ae_seconds = float(torch.load(encoder, map_location="cpu", weights_only=True)["seconds"])
    root = Path(args.out_root)
    ft = load_config(
        args.finetune, [*args.overrides, f"model.pretrained={encoder}", f"out_dir={root / 'autoencoder_finetune'}"]
    )
    ft_final = train_to_final(ft)
    ft_minutes, ft_epochs = _train_minutes(ft_final)
    extra = round(ae_seconds / 60 / (ft_minutes / max(ft_epochs, 1))) if ft_minutes > 0 else 0
    sc = load_config(
        args.scratch, [*args.overrides, f"epochs={ft.epochs + extra}", f"out_dir={root / 'autoencoder_scratch'}"]
    )
    sc_final = train_to_final(sc)
    sc_minutes, _ = _train_minutes(sc_final)
    test = load_dataset(ft.data.dataset, args.eval_split, ft.data.data_root)
    if args.eval_subset:
        test = test.subset(stratified_subset(test.hard_labels, args.eval_subset, 0))
    rows = []
    for name, final, epochs, minutes in (
        ("DAE pre-training + fine-tuning", ft_final, ft.epochs, ae_seconds / 60 + ft_minutes),
        ("from scratch", sc_final, sc.epochs, sc_minutes),
    ):
        r = evaluate_model(load_model(final), test)
        rows.append(
            {
                "name": name,
                "epochs": epochs,
                "cpu_minutes": minutes,
                "accuracy": r["accuracy"],
                "macro_f1": r["macro_f1"],
                "n": r["n"],
                "run": str(final.parent),
            }
        )
        print(f"{name}: accuracy {r['accuracy']:.4f}", flush=True)
    lines = [
        f"# Denoising-autoencoder pre-training vs scratch ({ft.model.name}, {ft.data.dataset})",
        "",
        f"Produced by `python lab/tools/compare_pretraining.py {' '.join(argv)}` on {time.strftime('%Y-%m-%d')}. "
        f"Autoencoder: {ae.epochs} epochs on {ae.dataset} {', '.join(ae.splits)} without labels "
        f"({ae_seconds / 60:.1f} min). Minutes are training wall time on the same machine.",
        "",
        f"| method | supervised epochs | minutes | n | accuracy ({test.split}) | macro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['name']} | {r['epochs']} | {r['cpu_minutes']:.1f} | {r['n']} | {r['accuracy']:.4f} | "
        f"{r['macro_f1']:.4f} |"
        for r in rows
    ]
    write_text(args.output, "\n".join(lines) + "\n")
    write_json(Path(args.output).with_suffix(".json"), {"argv": argv, "ae_seconds": ae_seconds, "rows": rows})
    print(f"table written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
