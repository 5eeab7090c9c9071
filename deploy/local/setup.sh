#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine lacks for Reelhouse's local stack and tests, then syncs
# the Python workspace. Idempotent: installs only what is missing.
#   system: ffmpeg (ffprobe), nginx with the njs and RTMP modules, curl
#   python: uv, then `uv sync --frozen --all-packages` into .venv
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v nginx >/dev/null 2>&1 || need+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] || need+=(libnginx-mod-http-js)
[ -e /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv"
  python3 -m pip install -q uv 2>/dev/null || python3 -m pip install -q --user uv
  export PATH="$HOME/.local/bin:$PATH"
fi
uv sync --frozen --all-packages -q
