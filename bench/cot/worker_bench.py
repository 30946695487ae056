"""Where a `cmcc worker` spends its time: decode a message and store its fixes (Bridge.store:
COPY, INSERT ... SELECT, geofence, audit) on PostgreSQL with the gaza-2025 zones, batch by
batch, then the same under cProfile. Prints figures; asserts nothing.

    PYTHONPATH=src .venv/bin/python bench/cot/worker_bench.py [--batches 20] [--size 5000]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import time
import uuid

import psycopg

from cmcc.bootstrap import bootstrap
from cmcc.cli.common import operator_session
from cmcc.config import Settings
from cmcc.cot import codec
from cmcc.cot.bridge import Bridge
from cmcc.cot.event import Report
from cmcc.cot.stream import decode, encode, fixes_of
from cmcc.initialize import initialize
from cmcc.scenarios.loader import load_scenario

ADMIN = os.environ.get("COTBENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def messages(batches: int, size: int) -> list[bytes]:
    t0 = dt.datetime.now(dt.UTC)
    out = []
    for b in range(batches):
        reports = [
            Report(
                codec.make_event(
                    f"bench-{i % 1000}", "a-f-G-U-C", 31.3 + (i % 100) * 0.003,
                    34.3 + (i // 100 % 100) * 0.003,
                    now=t0 + dt.timedelta(microseconds=b * size + i), stale_seconds=120,
                ),
                None,
            )
            for i in range(size)
        ]  # fmt: skip
        out.extend(data for data, _ in encode(fixes_of(reports)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--size", type=int, default=5000)
    args = ap.parse_args()
    name = f"workerbench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    try:
        platform = bootstrap(Settings(database_url=url, environment="test"))
        initialize(platform)
        with operator_session(platform, write=True, actor="bench") as s:
            load_scenario(s, "gaza-2025", aoi=platform.settings.aoi_bbox, fence=platform.fence())
        bridge = Bridge(platform)
        data = messages(args.batches * 2, args.size)
        half = len(data) // 2
        print(f"load average {os.getloadavg()[0]:.2f}, {len(data)} messages of <= 256 KiB")
        t0 = time.perf_counter()
        fixes = [f for d in data[:half] for f in decode(d)]
        t1 = time.perf_counter()
        per = args.size
        for i in range(0, len(fixes), per):
            bridge.store(fixes[i : i + per])
        t2 = time.perf_counter()
        n = len(fixes)
        print(f"decode {n / (t1 - t0):,.0f} fixes/s; store {n / (t2 - t1):,.0f} fixes/s "
              f"in batches of {per}; together {n / (t2 - t0):,.0f}/s")  # fmt: skip
        rest = [f for d in data[half:] for f in decode(d)]
        profile = cProfile.Profile()
        profile.enable()
        for i in range(0, len(rest), per):
            bridge.store(rest[i : i + per])
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)
        platform.dispose()
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
