#!/usr/bin/env bash
# Make sure a NATS server with JetStream answers on 127.0.0.1:4222 (CMCC_TEST_NATS_URL to use
# another). Installs Debian's nats-server when it is missing (needs root, as on the test
# machines) and starts it with JetStream, its store under /tmp, when nothing answers.
set -euo pipefail
URL="${CMCC_TEST_NATS_URL:-nats://127.0.0.1:4222}"
hostport="${URL#nats://}"; host="${hostport%%:*}"; port="${hostport##*:}"

answers() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if answers; then
  exit 0
fi
if ! command -v nats-server >/dev/null && [ ! -x /usr/sbin/nats-server ]; then
  echo "nats: installing Debian's nats-server"
  if [ "$(id -u)" != "0" ]; then
    echo "nats: run 'apt-get install nats-server' as root (no NATS server answers at $URL)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nats-server >/dev/null
fi
bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
store="${TMPDIR:-/tmp}/cmcc-nats-jetstream"
mkdir -p "$store"
echo "nats: starting $bin with JetStream on $host:$port (store $store)"
nohup "$bin" -a "$host" -p "$port" -js -sd "$store" >"$store/nats-server.log" 2>&1 &
for _ in $(seq 1 50); do
  if answers; then
    echo "nats: ready"
    exit 0
  fi
  sleep 0.1
done
echo "nats: nats-server did not start; see $store/nats-server.log" >&2
exit 1
