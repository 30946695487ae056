#!/usr/bin/env bash
# Make sure Debian's Chromium is at /usr/bin/chromium for the browser tests (Playwright drives
# it; it never downloads a browser). Installs the `chromium` package with apt when missing.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
BROWSER="${CMCC_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BROWSER" ]; then
  exit 0
fi
apt_install chromium chromium "the browser tests need $BROWSER"
"$BROWSER" --version
