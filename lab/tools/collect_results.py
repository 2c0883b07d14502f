"""One row per run (lab/results/runs.csv) and a short index page (lab/results/README.md) from the records.

    python lab/tools/collect_results.py

Rows are read from the JSON records the experiment tools wrote (lab/tools/results_table.py), so the CSV and the
index never drift from the numbers; the per-experiment pages stay where their tools wrote them, and pages not
produced yet are listed with the command that makes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "lab" / "results"

# (file, issue section it answers, how it is produced)
SECTIONS = [
    ("losses_fer2013.md", "Losses of seeds 001/003 on FER2013", "bash lab/tools/budget_results.sh a"),
    ("losses_ferplus.md", "Losses of seeds 001/003 on FERPlus", "bash lab/tools/budget_results.sh b"),
    ("ran_ferplus.md", "Region Attention Network vs its backbone", "bash lab/tools/budget_results.sh b"),
    (
        "face_subsets_ferplus.md",
        "Pose and occlusion-proxy subsets of FERPlus PublicTest",
        "python lab/tools/face_subset_table.py ...",
    ),
    (
        "face_subsets_fer2013.md",
        "Pose and occlusion-proxy subsets of FER2013 PublicTest",
        "python lab/tools/face_subset_table.py --models fer2013 --dataset fer2013 --output lab/results/face_subsets_fer2013.md",
    ),
    ("multitask.md", "Multitask vs single task", "bash lab/tools/budget_results.sh b"),
    ("ckplus_scratch.md", "CK+ 10-fold, from scratch", "bash lab/tools/budget_results.sh b"),
    (
        "ckplus_one_stage.md",
        "CK+ 10-fold, FER2013 pre-training + one fine-tuning stage",
        "bash lab/tools/budget_results.sh b",
    ),
    (
        "ckplus_two_stage.md",
        "CK+ 10-fold, FER2013 pre-training + head-then-all fine-tuning",
        "bash lab/tools/budget_results.sh b",
    ),
    (
        "robustness.md",
        "Robustness of the shipped models to synthetic perturbations",
        "python lab/tools/eval_tables.py robustness ...",
    ),
    ("ensembles_fer2013.md", "Ensembles vs their members", "bash lab/tools/budget_results.sh a"),
    ("classical_heads_fer2013.md", "Classical heads on deep features", "see docs/methods.md"),
    ("two_branch_fer2013.md", "CNN + LBP two-branch model vs image only", "bash lab/tools/budget_results.sh a"),
    ("autoencoder_fer2013.md", "Denoising-autoencoder pre-training vs scratch", "bash lab/tools/budget_results.sh a"),
    ("cross_dataset.md", "Cross-dataset evaluation", "python lab/tools/eval_tables.py cross ..."),
    (
        "seed_noise_fer2013.md",
        "Seed-to-seed spread of the reduced budget, FER2013",
        "bash lab/tools/budget_results.sh noise-fer2013",
    ),
    (
        "seed_noise_ferplus.md",
        "Seed-to-seed spread of the reduced budget, FERPlus",
        "bash lab/tools/budget_results.sh noise-ferplus",
    ),
    (
        "precision.md",
        "bf16 vs fp32 training on the CPU",
        "python lab/tools/run_experiments.py --configs lab/configs/experiments/precision/fer2013_fp32.yaml "
        "lab/configs/experiments/precision/fer2013_bf16.yaml --seeds 0 1 --out-root runs/precision ...",
    ),
    (
        "batch_scaling.md",
        "Batch 64 vs 256 with the linear learning-rate rule",
        "python lab/tools/run_experiments.py --configs lab/configs/experiments/precision/fer2013_bf16.yaml "
        "lab/configs/experiments/batch/fer2013_bf16_b256.yaml --seeds 0 1 --out-root runs/precision ...",
    ),
    (
        "robust_finetune.md",
        "Robust fine-tune of the shipped models: blur, low resolution, JPEG",
        "python lab/tools/robust_report.py --runs runs/robust --candidates robust gentle lowlr shipped "
        "--preamble lab/results/robust_finetune_preamble.txt --decision lab/results/robust_finetune_decision.txt",
    ),
    (
        "distill_cpu_teachers.md",
        "Distillation of the shipped models from the CPU-trained teachers",
        "python lab/tools/robust_report.py --runs runs/distill --candidates distill --run-dir "
        "distill=runs/distill/multitask_distill_cpu_teachers --out lab/results/distill_cpu_teachers.md ...",
    ),
    (
        "distill_ran.md",
        "Distillation of the shipped ferplus from the zoo's Region Attention Network",
        "python lab/tools/robust_report.py --runs runs/distill_ran --candidates distill --run-dir "
        "distill=runs/distill_ran/multitask_distill_ran --out lab/results/distill_ran.md ...",
    ),
    (
        "distill_ran60.md",
        "60-epoch multitask training from scratch with the shipped RAN as teacher",
        "python lab/tools/robust_report.py --runs runs/distill_ran60 --candidates distill60 --run-dir "
        "distill60=runs/distill_ran/multitask_ran_teacher_60ep --out lab/results/distill_ran60.md ...",
    ),
    (
        "distill_ran40.md",
        "40-epoch multitask training from scratch with teacher ensembles of RANs: not shipped",
        "python lab/tools/robust_report.py --runs runs/distill_ran40 --candidates distill40 --run-dir "
        "distill40=runs/distill_ran/multitask_ran2_teacher_40ep --out lab/results/distill_ran40.md ...",
    ),
    (
        "distill_offline.md",
        "Offline distillation from teacher ensembles on stored augmented views: the shipped fer2013",
        "python lab/tools/robust_report.py --runs runs/distill_ran60off --candidates offline60 views10 views10_90 views10_120 "
        "--run-dir offline60=runs/distill_ran/multitask_ran2_offline_60ep views10=runs/distill_ran/multitask_ran2_views10_60ep "
        "views10_90=runs/distill_ran/multitask_ran2_views10_90ep views10_120=runs/distill_ran/multitask_ran2_views10_120ep "
        "--out lab/results/distill_offline.md ...",
    ),
    (
        "distill_views20.md",
        "Offline distillation on 20 stored views and born-again teachers: the shipped ferplus",
        "python lab/tools/robust_report.py --runs runs/distill_v20 --candidates views20_120 born_again shipped --run-dir "
        "views20_120=runs/distill_ran/multitask_ran2_views20_120ep "
        "born_again=runs/distill_ran/multitask_ran2_born_again_views20_120ep --out lab/results/distill_views20.md ...",
    ),
    (
        "teacher_ferresnet_l.md",
        "A wider teacher (ferresnet_l, 80 epochs of the multitask recipe): not used",
        "ferkit train --config lab/configs/experiments/distill/multitask_ferresnet_l_teacher_80ep.yaml; ferkit evaluate / "
        "ensemble / compare (commands in the page)",
    ),
    (
        "ferplus_large_robust.md",
        "ferplus_large with the real-photo degradations: a candidate that was not shipped",
        "python lab/tools/eval_tables.py robustness lab/results/robustness_ran_ferplus_robust_34ep.json "
        "lab/results/robustness_ferplus_large.json --output lab/results/ferplus_large_robust.md ...",
    ),
    (
        "ferplus_schemes.md",
        "FERPlus training schemes (MV, CEL, ML, PLD) and offline augmentation at a CPU budget",
        "python lab/tools/ferplus_schemes.py --config lab/configs/experiments/ferplus_schemes/base.yaml --seeds 0 1 2 ...",
    ),
    (
        "zoo.md",
        "Model zoo: reproductions of the seed systems and papers",
        "python lab/tools/zoo_table.py --runs-root runs/zoo",
    ),
    ("benchmarks.md", "Speed benchmarks", "benchmarks/*.py"),
]


def main(argv: list[str] | None = None) -> int:
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results_table import collect_rows, index_markdown, write_csv

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", type=Path, default=RESULTS, help="results folder (default lab/results)")
    results = p.parse_args(argv).dir
    rows = collect_rows(results)
    write_csv(rows, results / "runs.csv")
    (results / "README.md").write_text(index_markdown(rows, SECTIONS, results))
    missing = [name for name, _, _ in SECTIONS if not (results / name).is_file()]
    print(
        json.dumps(
            {"written": [str(results / "runs.csv"), str(results / "README.md")], "rows": len(rows), "missing": missing}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
