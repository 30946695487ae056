#!/usr/bin/env bash
# Make sure WeasyPrint can load (Debian's pango: the SITREP's PDF, cmcc.command.sitrep_pdf) and
# that poppler's `pdftotext` is on PATH (the tests read the PDF back as text). Installs the
# Debian packages with apt when missing.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
for package in libpango-1.0-0 libpangoft2-1.0-0; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != *"install ok installed"* ]]; then
    apt_install pdf "$package" "WeasyPrint draws the SITREP's PDF with pango"
  fi
done
if ! command -v pdftotext >/dev/null; then
  apt_install pdf poppler-utils "the SITREP tests read the PDF back with pdftotext"
fi
# Read the whole output before printing its first line: `| head -1` under pipefail made the
# target fail (status 141) whenever head closed the pipe before pdftotext had finished writing.
version=$(pdftotext -v 2>&1)
echo "${version%%$'\n'*}"
