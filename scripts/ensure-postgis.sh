#!/usr/bin/env bash
# Make sure PostgreSQL answers on 127.0.0.1:5432 and offers the PostGIS extension.
# Installs Debian's postgresql-<major>-postgis-3 when it is missing (needs root, as on the
# test machines). Set CMCC_TEST_POSTGRES_URL to use another server.
set -euo pipefail
URL="${CMCC_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"

q() { psql "$URL" -tAqc "$1" 2>/dev/null; }

if ! q "select 1" >/dev/null; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "postgis: PostgreSQL is not answering; starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
    sleep 2
  fi
fi
if ! q "select 1" >/dev/null; then
  echo "postgis: PostgreSQL does not answer at $URL" >&2
  exit 1
fi
if [ "$(q "select count(*) from pg_available_extensions where name = 'postgis'")" = "1" ]; then
  exit 0
fi
major="$(q "show server_version_num" | cut -c1-2)"
pkg="postgresql-${major}-postgis-3"
echo "postgis: installing $pkg"
if [ "$(id -u)" != "0" ]; then
  echo "postgis: run 'apt-get install $pkg' as root (the PostGIS extension is missing)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "$pkg" >/dev/null
if [ "$(q "select count(*) from pg_available_extensions where name = 'postgis'")" != "1" ]; then
  echo "postgis: $pkg installed but PostgreSQL does not offer postgis" >&2
  exit 1
fi
echo "postgis: ready"
