#!/usr/bin/env bash
# Set up .venv (with the pinned `docs` extra), then build the documentation site strictly into site/.
# Any warning (a broken link, a page missing from the nav, a docstring the API reference cannot read) fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
NO_MKDOCS_2_WARNING=1 python -m mkdocs build --strict --site-dir site "$@"
echo "documentation site written to site/ (open site/index.html, or: python -m http.server -d site)"
