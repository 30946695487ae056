"""The TAK gateway's memory under a flood of markers from one unregistered client (issue 19).

One client connects to `cmcc serve` (relay `mission`, the default), identifies as an
unregistered device and sends N waypoints (`b-m-p-w`) with distinct uids, stale an hour ahead.
Under the mission relay none of them can ever be replayed to anyone. Prints the server's
resident memory (VmRSS) before, right after, and 10 s after the flood, for each `cmcc` given,
in the same run (so a build before the fix and one after can be compared side by side).

    .venv/bin/python bench/cot/store_bench.py                       # this checkout's cmcc
    .venv/bin/python bench/cot/store_bench.py --cmcc A/.venv/bin/cmcc,B/.venv/bin/cmcc

Asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _event(uid: str, kind: str, stale_s: float) -> bytes:
    now = dt.datetime.now(dt.UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ"
    t, stale = now.strftime(fmt), (now + dt.timedelta(seconds=stale_s)).strftime(fmt)
    return (
        f'<event version="2.0" uid="{uid}" type="{kind}" how="h-g-i-g-o" time="{t}" '
        f'start="{t}" stale="{stale}"><point lat="31.5" lon="34.45" hae="0" ce="9" le="9"/>'
        f'<detail><contact callsign="{uid}"/></detail></event>'
    ).encode()


def measure(cmcc: str, markers: int) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="cmcc-store-bench-"))
    port, cot = _free_port(), _free_port()
    env = {
        **os.environ,
        "CMCC_HOME": str(home),
        "CMCC_SECRET_KEY": "bench-" + "x" * 40,
        "CMCC_COT_TCP_PORT": str(cot),
        "CMCC_COT_TAK_PORT": "0",
        "CMCC_COT_UDP_PORT": "0",
        "CMCC_COT_RELAY": "mission",
    }
    subprocess.run([cmcc, "init"], env=env, check=True, capture_output=True)
    log = (home / "server.log").open("wb")
    proc = subprocess.Popen(
        [cmcc, "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", cot), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(2.0)
        before = _rss_mb(proc.pid)
        with socket.create_connection(("127.0.0.1", cot)) as sock:
            sock.sendall(_event("stranger-1", "a-f-G-U-C", 3600))
            batch = 2000
            for start in range(0, markers, batch):
                end = min(markers, start + batch)
                sock.sendall(b"".join(_event(f"m-{i}", "b-m-p-w", 3600) for i in range(start, end)))
            time.sleep(3.0)
            after = _rss_mb(proc.pid)
        time.sleep(10.0)
        later = _rss_mb(proc.pid)
        return {"before": before, "after": after, "later": later}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cmcc", default=str(ROOT / ".venv" / "bin" / "cmcc"))
    ap.add_argument("--markers", type=int, default=100_000)
    args = ap.parse_args()
    print(f"{args.markers:,} waypoints, distinct uids, one unregistered client (relay mission)")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'cmcc':<60} {'before':>8} {'after':>8} {'10 s on':>8}   (VmRSS, MB)")
    for cmcc in args.cmcc.split(","):
        got = measure(cmcc, args.markers)
        print(f"{cmcc:<60} {got['before']:8.0f} {got['after']:8.0f} {got['later']:8.0f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
