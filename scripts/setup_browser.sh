#!/usr/bin/env bash
# Install what the web tests need, idempotently and quietly: Debian's Chromium and ChromeDriver (real-browser
# end-to-end tests), Selenium to drive them, websockets (uvicorn's live WebSocket) and swagger-ui-bundle
# (Swagger UI for /docs served locally). Pins, to keep in step with pyproject's extras:
#   selenium==4.51.0 (4.52 needs a certifi newer than PyPI serves here), websockets==15.0.1,
#   swagger-ui-bundle==1.1.0
# and, from npm, onnxruntime-web@1.30.0 into .cache/web-vendor (the page's in-browser mode; `ferkit serve
# --ort-web .cache/web-vendor`), when npm is available.
set -euo pipefail
cd "$(dirname "$0")/.."
PINS=("selenium==4.51.0" "websockets==15.0.1" "swagger-ui-bundle==1.1.0")

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if [ "${#need_apt[@]}" -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" fonts-dejavu-core >/dev/null 2>&1 || {
    echo "setup_browser.sh: apt-get install ${need_apt[*]} failed" >&2; exit 1; }
fi

if [ -x .venv/bin/python ]; then
  . .venv/bin/activate
  # pip only when a pin is missing or different (no index round-trip on a ready machine).
  if ! python - "${PINS[@]}" <<'PY'
import importlib.metadata as md
import sys
try:
    sys.exit(0 if all(md.version(n) == v for n, v in (p.split("==") for p in sys.argv[1:])) else 1)
except md.PackageNotFoundError:
    sys.exit(1)
PY
  then
    if ! out=$(python -m pip install --quiet --disable-pip-version-check "${PINS[@]}" 2>&1); then
      echo "$out" >&2
      exit 1
    fi
  fi
fi

ORT_WEB_VERSION=1.30.0
ORT_DIR=.cache/web-vendor
if command -v npm >/dev/null 2>&1; then
  have=$(node -p "require('./$ORT_DIR/node_modules/onnxruntime-web/package.json').version" 2>/dev/null || true)
  if [ "$have" != "$ORT_WEB_VERSION" ]; then
    mkdir -p "$ORT_DIR"
    if ! out=$(timeout 600 npm install --silent --no-audit --no-fund --no-save --prefix "$ORT_DIR" \
        "onnxruntime-web@$ORT_WEB_VERSION" 2>&1); then
      echo "$out" >&2
      exit 1
    fi
  fi
fi
