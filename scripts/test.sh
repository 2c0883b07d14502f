#!/usr/bin/env bash
# Set up, then run the whole test suite (unit + real-data + browser tests).
# Real data: $FERKIT_DATA, defaulting to ../shared/data beside the checkout when present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f scripts/setup_browser.sh ]; then bash scripts/setup_browser.sh; fi
. .venv/bin/activate
if [ -z "${FERKIT_DATA:-}" ] && [ -d ../shared/data ]; then
  export FERKIT_DATA="$(cd ../shared/data && pwd)"
fi
export FERKIT_CACHE="${FERKIT_CACHE:-$PWD/.cache/ferkit}"
export MPLBACKEND=Agg
python -m pytest -q -ra --timeout=900 "$@"
