#!/usr/bin/env bash
# Set up, then run the whole test suite (unit + real-data + browser tests).
#   bash scripts/test.sh [--quick] [pytest arguments ...]
# --quick: the development lane, the default tests without the `slow`, `realdata` and `browser` ones (no
# browser set-up either); CI runs everything. Other arguments go to pytest as they are.
# Real data: $FERKIT_DATA, defaulting to ../shared/data beside the checkout when present.
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0
if [ "${1:-}" = "--quick" ]; then
  QUICK=1
  shift
fi
bash scripts/setup.sh
if [ "$QUICK" = 0 ] && [ -f scripts/setup_browser.sh ]; then bash scripts/setup_browser.sh; fi
. .venv/bin/activate
if [ -z "${FERKIT_DATA:-}" ] && [ -d ../shared/data ]; then
  export FERKIT_DATA="$(cd ../shared/data && pwd)"
fi
export FERKIT_CACHE="${FERKIT_CACHE:-$PWD/.cache/ferkit}"
export MPLBACKEND=Agg
if [ "$QUICK" = 1 ]; then
  exec python -m pytest -q -ra --timeout=900 -m "not slow and not realdata and not browser" "$@"
fi
python -m pytest -q -ra --timeout=900 "$@"
