#!/usr/bin/env bash
# Make sure WeasyPrint can load (Debian's pango: the SITREP's PDF, cmcc.command.sitrep_pdf) and
# that poppler's `pdftotext` is on PATH (the tests read the PDF back as text). Installs the
# Debian packages with apt when missing.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
for package in libpango-1.0-0 libpangoft2-1.0-0; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    apt_install pdf "$package" "WeasyPrint draws the SITREP's PDF with pango"
  fi
done
if ! command -v pdftotext >/dev/null; then
  apt_install pdf poppler-utils "the SITREP tests read the PDF back with pdftotext"
fi
pdftotext -v 2>&1 | head -1
