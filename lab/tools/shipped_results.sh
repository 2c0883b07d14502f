#!/usr/bin/env bash
# Regenerate the results tables about the shipped models (lab/results/): robustness to synthetic
# perturbations, cross-dataset scores and the pose / occlusion-proxy subsets. Run it after re-shipping a model
# (lab/tools/ship_model.py); it only evaluates (a few minutes on 2 cores) and then rebuilds the results index.
#
#   FERKIT_DATA=/path/to/data [KEEP="ferplus_large"] bash lab/tools/shipped_results.sh
#
# KEEP lists models that did not change since their measurement files were written: those files are reused, not
# measured again (ferplus_large's --perturb all takes about 13 minutes on 2 cores).
# The FERPlus face-subset table also scores the reduced-budget baseline and RAN runs of
# lab/tools/budget_results.sh b when they are present under runs/experiments_budget.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FERKIT_DATA:?set FERKIT_DATA to the data folder}"
R=lab/results
run() { echo "### $(date -u +%H:%M:%S) $*"; "$@"; }
kept() { [[ " ${KEEP:-} " == *" $1 "* && -f $2 ]] && echo "### kept $2 ($1 is in KEEP)"; }

models=(ferplus fer2013)
large=false
[ -f src/ferkit/pretrained/ferplus_large.pt ] && large=true && models+=(ferplus_large)   # the slower, more accurate RAN
for m in "${models[@]}"; do
  kept "$m" "$R/robustness_$m.json" && continue
  run ferkit evaluate --model "$m" --dataset "${m%_large}" --split PublicTest --perturb all --json "$R/robustness_$m.json"
done
robust=()
for m in "${models[@]}"; do robust+=("$R/robustness_$m.json"); done
run python lab/tools/eval_tables.py robustness "${robust[@]}" \
    --output "$R/robustness.md" --title "Robustness of the shipped models to synthetic perturbations"

run ferkit evaluate --model fer2013 --dataset ckplus --split all --json "$R/cross_fer2013_to_ckplus.json" \
    --plot "$R/cross_fer2013_to_ckplus.png"
run ferkit evaluate --model ferplus --dataset ckplus --split all --json "$R/cross_ferplus_to_ckplus.json" \
    --plot "$R/cross_ferplus_to_ckplus.png"
cross_large=()
if $large; then
  kept ferplus_large "$R/cross_ferplus_large_to_ckplus.json" ||
  run ferkit evaluate --model ferplus_large --dataset ckplus --split all --json "$R/cross_ferplus_large_to_ckplus.json" \
      --plot "$R/cross_ferplus_large_to_ckplus.png"
  cross_large=("$R/cross_ferplus_large_to_ckplus.json")
fi
run ferkit evaluate --model fer2013 --dataset ferplus --split PublicTest --json "$R/cross_fer2013_to_ferplus.json"
run ferkit evaluate --model ferplus --dataset fer2013 --split PublicTest --json "$R/cross_ferplus_to_fer2013.json"
run python lab/tools/eval_tables.py cross "$R/cross_fer2013_to_ckplus.json" "$R/cross_ferplus_to_ckplus.json" \
    "${cross_large[@]}" "$R/cross_fer2013_to_ferplus.json" "$R/cross_ferplus_to_fer2013.json" \
    --output "$R/cross_dataset.md" --title "Cross-dataset evaluation of the shipped models"

run python lab/tools/face_subset_table.py --models fer2013 --dataset fer2013 --output "$R/face_subsets_fer2013.md"
budget=()
for run_dir in losses_ferplus_ce ran_ferplus_ran_ce ran_ferplus_ran_rb; do
  [ -f "runs/experiments_budget/$run_dir/final.pt" ] && budget+=("runs/experiments_budget/$run_dir/final.pt")
done
run python lab/tools/face_subset_table.py --models ferplus "${budget[@]}" --dataset ferplus \
    --output "$R/face_subsets_ferplus.md" \
    --title "Pose and occlusion-proxy subsets of FERPlus PublicTest: shipped model, budget baseline and RAN"

run python lab/tools/collect_results.py
