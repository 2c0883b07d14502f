#!/usr/bin/env bash
# Measure a pair of models (the shipped pair, or a candidate pair before it ships) for the shipping rule of
# lab/tools/robust_report.py: PublicTest clean and under blur / JPEG / low resolution, and the full pipeline on the
# labelled real photos (CK+48, sample photos). Evaluation only; about 5 minutes on 2 cores.
#
#   FERKIT_DATA=/path/to/data bash lab/tools/measure_candidate.sh RUNS TAG FERPLUS_MODEL FER2013_MODEL
#
# writes RUNS/eval_TAG_ferplus.json, RUNS/eval_TAG_fer2013.json and RUNS/bench_TAG.json (+ .md), and each item's
# prediction in RUNS/pred_TAG/ (publictest_ferplus.csv, publictest_fer2013.csv, the CK+48 and sample photo files),
# which lab/tools/robust_report.py pairs with the shipped pair's (tag before) for `ferkit compare`'s intervals. The
# models are shipped names or model files; a training run's files are best.pt (main head) and best_fer2013.pt.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FERKIT_DATA:?set FERKIT_DATA to the data folder}"
if [ $# -ne 4 ]; then
  echo "usage: bash lab/tools/measure_candidate.sh RUNS TAG FERPLUS_MODEL FER2013_MODEL" >&2
  exit 2
fi
runs=$1 tag=$2 ferplus=$3 fer2013=$4
mkdir -p "$runs"
run() { echo "### $(date -u +%H:%M:%S) $*"; "$@"; }

pred="$runs/pred_${tag}"
run ferkit evaluate --model "$ferplus" --dataset ferplus --split PublicTest --perturb blur jpeg lowres \
    --json "$runs/eval_${tag}_ferplus.json" --predictions "$pred/publictest_ferplus.csv"
run ferkit evaluate --model "$fer2013" --dataset fer2013 --split PublicTest --perturb blur jpeg lowres \
    --json "$runs/eval_${tag}_fer2013.json" --predictions "$pred/publictest_fer2013.csv"
run python benchmarks/bench_realphotos.py --models "$ferplus,$fer2013" --detectors auto --threads 1 \
    --json "$runs/bench_${tag}.json" --predictions "$pred" | tee "$runs/bench_${tag}.md"
echo "### $(date -u +%H:%M:%S) done"
