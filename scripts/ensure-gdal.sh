#!/usr/bin/env bash
# Make sure GDAL's `ogrinfo` is on PATH for the OGC API end-to-end tests (a second real client
# beside OWSLib: GDAL's OAPIF driver, which QGIS uses too). Installs Debian's gdal-bin with apt
# when missing.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
if command -v ogrinfo >/dev/null; then
  exit 0
fi
apt_install gdal gdal-bin "the OGC API tests need ogrinfo"
ogrinfo --version
