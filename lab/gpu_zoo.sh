#!/usr/bin/env bash
# Train the model zoo (lab/configs/zoo/zoo.yaml) on one GPU machine within a time budget, offline.
#
#   bash lab/gpu_zoo.sh --stage              # here, once: the compact FER2013 bundle + FERPlus votes (~50 MB)
#                                                # as parts that each fit beside the working tree (.zoo_data/,
#                                                # git-ignored); prints the device calls
#   bash lab/gpu_zoo.sh --receive            # there, one call per part but the last: stash the carried part
#   bash lab/gpu_zoo.sh MINUTES [PARALLEL]   # there: stash the last part, join and verify the parts, unpack,
#                                                # prepare, train side by side, score, pack
#
# The device tool sends the working tree (about 38 MiB of tracked files, mostly weights) and the carried paths,
# 64 MiB in all per call, so the data travels in parts (lab/tools/device_bundle.py): each call carries
# [".zoo_data/partNN", ".zoo_data/MANIFEST"], the stash (runs/.zoo_stash) stays on the machine while it is held,
# and the machine goes back after about 30 s idle, so the calls must follow each other at once. The last call
# (timeout_s 600; MINUTES ~7 leaves room for unpacking, scoring and packing inside the 10-minute command limit):
#   bash lab/gpu_zoo.sh 7 6
# The distilled student learns from the three ResNet-18 teacher runs in the same runs folder, so run them in one
# call: ZOO_ROWS="resnet18_ferplus_multitask ferresnet_m_distilled_multitask" bash lab/gpu_zoo.sh 8 3
# (the teachers stop at 60% of the budget, budget_share in zoo.yaml; the student takes the rest).
# Needs only python3 with torch, numpy, pyyaml, opencv, onnx, onnxruntime (the device image has them); no pip,
# no network. Environment: OUT (results folder, default out/gpu_zoo), ZOO_ROWS (space-separated row names),
# ZOO_SET (overrides for every run, e.g. "epochs=1 data.train_subset=64" for a dry run), ZOO_DEVICE
# (auto|cpu|cuda), ZOO_THREADS (CPU threads per run), ZOO_EVAL_SUBSET (smoke tests), PYTHON (default python3).
# $OUT receives zoo.md (the generated table) and zoo.tar.part00.. (<= 7 parts < 16 MiB: every run folder with
# config, metrics.csv, logs, evaluations and fp16 weights); `cat zoo.tar.part* | tar x -C runs/zoo` restores
# them, `python lab/tools/zoo_archive.py runs/zoo/*_s*` keeps their records in the repository (lab/results/zoo_runs:
# run folders die with the checkout), `python lab/tools/zoo_table.py --runs-root runs/zoo` regenerates
# lab/results/zoo.md, and
# `ferkit train --config lab/configs/zoo/<row>.yaml --out-dir runs/zoo/<row>_s0 --resume` continues a run only if
# its last.pt was kept (it does not travel: fp32 + optimizer state).
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=${ZOO_PARTS:-.zoo_data}              # carried: partNN + MANIFEST (or, on a small tree, the whole bundle)
STASH=${ZOO_STASH:-runs/.zoo_stash}          # there: the parts received so far (ignored, kept between calls)
BUNDLE=${ZOO_BUNDLE:-runs/.zoo_bundle}       # there: the joined, verified bundle
PY=${PYTHON:-python3}

if [ "${1:-}" = "--stage" ]; then
    # ignored first, so the tree size the parts are cut to does not count earlier parts
    grep -qx "/$PARTS/" "$(git rev-parse --git-path info/exclude)" 2>/dev/null \
        || echo "/$PARTS/" >> "$(git rev-parse --git-path info/exclude)"
    exec $PY lab/tools/device_bundle.py stage --data "${FERKIT_DATA:-../shared/data}" --out "$PARTS"
fi
if [ "${1:-}" = "--receive" ]; then
    exec $PY lab/tools/device_bundle.py receive --out "$PARTS" --stash "$STASH"
fi

MINUTES=${1:?usage: lab/gpu_zoo.sh MINUTES [PARALLEL]  (or --stage / --receive)}
PARALLEL=${2:-4}
OUT=${OUT:-out/gpu_zoo}
RUNS=${ZOO_RUNS_ROOT:-runs/zoo}
DATA=${ZOO_DATA_DIR:-/tmp/ferkit_data}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export FERKIT_DATA="$DATA" FERKIT_CACHE=${FERKIT_CACHE:-/tmp/ferkit_cache}
mkdir -p "$DATA/fer2013" "$DATA/ferplus" "$OUT" "$RUNS"
start=$(date +%s)
log() { echo "gpu_zoo [$(( $(date +%s) - start ))s] $*" | tee -a "$RUNS/gpu_zoo.log"; }

if [ -f "$PARTS/fer2013/compact/pixels.med.xz" ]; then
    BUNDLE=$PARTS                            # the whole bundle was carried in one call
elif [ ! -f "$BUNDLE/fer2013/compact/pixels.med.xz" ]; then
    $PY lab/tools/device_bundle.py receive --out "$PARTS" --stash "$STASH" \
        && $PY lab/tools/device_bundle.py assemble --stash "$STASH" --dest "$BUNDLE" \
        || { echo "gpu_zoo: no complete data bundle (run --stage here, carry every part)" >&2; exit 2; }
fi
log "host: $(hostname), $($PY -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")')"
if [ ! -f "$DATA/fer2013/fer2013.csv" ]; then
    log "unpacking FER2013"
    $PY "$BUNDLE/fer2013/compact/unpack.py" "$DATA/fer2013/fer2013.csv.tmp" "$BUNDLE/fer2013/compact"
    mv "$DATA/fer2013/fer2013.csv.tmp" "$DATA/fer2013/fer2013.csv"
fi
cp "$BUNDLE/ferplus/fer2013new.csv" "$DATA/ferplus/"
# decode once into the cache before the parallel runs read it (one writer)
log "preparing caches"
$PY -m ferkit.cli.main prepare --dataset fer2013 > "$RUNS/prepare.log" 2>&1
$PY -m ferkit.cli.main prepare --dataset ferplus >> "$RUNS/prepare.log" 2>&1
used=$(( ($(date +%s) - start) / 60 ))
train=$(( MINUTES - used ))
[ "$train" -ge 1 ] || train=1
log "training for ${train} min, ${PARALLEL} runs at a time"
args=(--budget-minutes "$train" --parallel "$PARALLEL" --device "${ZOO_DEVICE:-auto}" --runs-root "$RUNS"
      --threads "${ZOO_THREADS:-2}")
[ -n "${ZOO_ROWS:-}" ] && args+=(--rows $ZOO_ROWS)
[ -n "${ZOO_EVAL_SUBSET:-}" ] && args+=(--eval-subset "$ZOO_EVAL_SUBSET")
[ -n "${ZOO_SET:-}" ] && args+=(--set $ZOO_SET)
$PY lab/tools/zoo_run.py "${args[@]}" 2>&1 | tee -a "$RUNS/gpu_zoo.log"
log "table and archive"
$PY lab/tools/zoo_table.py --runs-root "$RUNS" --output "$RUNS/zoo.md"
cp "$RUNS/zoo.md" "$OUT/zoo.md"
$PY lab/tools/zoo_run.py --runs-root "$RUNS" --pack "$OUT" --max-parts 7
log "done; $OUT: $(ls "$OUT" | tr '\n' ' ')"
