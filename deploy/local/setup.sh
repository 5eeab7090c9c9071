#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for Reelhouse's local stack and tests, then syncs
# the Python workspace. Idempotent: installs only what is missing.
#   system: ffmpeg (ffprobe), nginx with the njs and RTMP modules, curl, Node.js + npm (web app build),
#           chromium (the web app's browser tests drive Debian's Chromium; no browser download)
#           prometheus (its promtool checks and unit-tests the alert rules in deploy/observability)
#   python: uv, then `uv sync --frozen --all-packages` into .venv
#   web:    `npm ci` in frontend/ from the committed lockfile (skipped while node_modules matches it)
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] || need+=(libnginx-mod-http-js)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)  # promtool checks the alert rules (deploy/observability)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian ships npm separately (NodeSource's nodejs includes it)
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing npm"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install -q uv 2>/dev/null || python3 -m pip install -q --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
uv sync --frozen --all-packages -q

# Web app dependencies: npm ci only when the lockfile changed since the last install (npm keeps a copy
# of the resolved tree in node_modules/.package-lock.json).
if [ ! -f frontend/node_modules/.package-lock.json ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] || echo "setup: warning: Node.js $node_major found; the web app's build (Vite 8) needs Node.js 20 or later" >&2
  echo "setup: npm ci (frontend)"
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
  touch frontend/node_modules/.package-lock.json
fi
