#!/usr/bin/env bash
# Mutation testing of the pure-logic modules (mutmut), one module at a time against its quick-lane tests.
#   bash scripts/mutation.sh                 # every module of [tool.ferkit.mutation.modules] in pyproject.toml
#   bash scripts/mutation.sh smoothing guards
#   bash scripts/mutation.sh --retest smoothing   # rerun only what the last run did not kill (after new tests)
#   bash scripts/mutation.sh --report        # the report of the last runs (--write-docs: into the docs page)
# Runs at low priority (nice -n 10) with one mutant at a time; MUTATION_CHILDREN=N runs N at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
if [ "${1:-}" = "--report" ]; then
  shift
  exec "$PYTHON" scripts/mutation.py report "$@"
fi
exec nice -n 10 "$PYTHON" scripts/mutation.py run --max-children "${MUTATION_CHILDREN:-1}" "$@"
