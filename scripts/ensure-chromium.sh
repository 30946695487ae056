#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (Playwright drives
# it; it never downloads a browser). Installs the `chromium` package with apt when missing.
set -euo pipefail
BROWSER="${CMCC_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BROWSER" ]; then
  exit 0
fi
echo "chromium: installing Debian's chromium package"
if [ "$(id -u)" != "0" ]; then
  echo "chromium: run 'apt-get install chromium' as root (the browser tests need $BROWSER)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true  # a stale list still installs from the local mirror
apt-get install -y -qq chromium >/dev/null
"$BROWSER" --version
