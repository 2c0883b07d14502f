#!/usr/bin/env bash
# Set up, then run the main job: emotions of every face in a bundled photo, with the shipped default model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ferkit predict examples/group.jpeg --output out/demo --json out/demo/results.json "$@"
echo "annotated image and results written to out/demo/"
