"""Incident queries at scale: 1,000,000 incidents, bbox + time window, up to 1,000 hits.

Targets (issue 3): p95 under 5 ms in the database and under 30 ms through the HTTP API, on
SQLite (R*Tree) and on PostgreSQL (PostGIS GiST on geom and time). Prints figures, asserts
nothing. The data is bulk-loaded into a scratch database (SQLite: executemany with the R*Tree
triggers live; PostgreSQL: COPY) - loading speed is the import benchmark's business - and then
`cmcc index optimize` runs, as after any bulk load (Z-order R*Tree on SQLite, ANALYZE on
PostgreSQL).

    .venv/bin/python bench/picture_query_bench.py [--rows 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import shapely
import uvicorn
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.access.policy import release_filter
from cmcc.access.service import add_user, create_token
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.releasability import Viewer
from cmcc.geo.maintenance import optimize
from cmcc.incidents.models import Incident
from cmcc.initialize import initialize

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
LON0, LAT0, LON1, LAT1 = 34.22, 31.22, 34.57, 31.60
T0 = dt.datetime(2025, 10, 10, tzinfo=dt.UTC)
SPAN_S = 365 * 86400
TYPES = ["ceasefire_violation_fire", "aid_obstruction", "explosive_ordnance_found", "demonstration"]
COLS = [
    "type",
    "occurred_at",
    "reported_at",
    "severity",
    "killed_civilian",
    "killed_other",
    "injured_civilian",
    "injured_other",
    "source_reliability",
    "info_credibility",
    "narrative",
    "attachments",
    "status",
    "finding",
    "source",
    "geom_wkb",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
    "owner_org_id",
    "releasability",
    "version",
    "created_at",
    "updated_at",
]


def rows(
    n: int, owner: int, rng: np.random.Generator
) -> tuple[list[tuple[Any, ...]], np.ndarray, np.ndarray, np.ndarray]:
    lon = rng.uniform(LON0, LON1, n)
    lat = rng.uniform(LAT0, LAT1, n)
    secs = rng.uniform(0, SPAN_S, n)
    wkb = shapely.to_wkb(shapely.points(lon, lat))
    now = dt.datetime.now(dt.UTC)
    out = []
    for i in range(n):
        t = T0 + dt.timedelta(seconds=float(secs[i]))
        out.append(
            (
                TYPES[i % 4],
                t,
                t,
                1 + i % 5,
                0,
                0,
                0,
                0,
                "C",
                3,
                "",
                "[]",
                "reported",
                "",
                "bench",
                wkb[i],
                float(lon[i]),
                float(lat[i]),
                float(lon[i]),
                float(lat[i]),
                owner,
                "mission",
                1,
                now,
                now,
            )
        )
    return out, lon, lat, secs


def load_sqlite(platform: Platform, data: list[tuple[Any, ...]]) -> None:
    raw = platform.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        marks = ",".join("?" for _ in COLS)
        fixed = [
            tuple(
                v.replace(tzinfo=None).isoformat(" ") if isinstance(v, dt.datetime) else v
                for v in r
            )
            for r in data
        ]
        cur.executemany(f"INSERT INTO incidents ({','.join(COLS)}) VALUES ({marks})", fixed)
        cur.execute("COMMIT")
    finally:
        raw.close()


def load_postgres(url: str, data: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY incidents ({','.join(COLS)}) FROM STDIN") as copy:
            for r in data:
                copy.write_row(r)
        conn.commit()
        cur.execute("ANALYZE incidents")
        conn.commit()


def windows(
    rng: random.Random, n: int
) -> list[tuple[tuple[float, float, float, float], dt.datetime, dt.datetime]]:
    """Boxes of about 1.5 km and windows of about 30 days: roughly 100-1,000 hits each."""
    out = []
    for _ in range(n):
        x, y = rng.uniform(LON0, LON1 - 0.03), rng.uniform(LAT0, LAT1 - 0.03)
        size = rng.uniform(0.01, 0.03)
        start = T0 + dt.timedelta(seconds=rng.uniform(0, SPAN_S - 40 * 86400))
        out.append(
            ((x, y, x + size, y + size), start, start + dt.timedelta(days=rng.uniform(10, 40)))
        )
    return out


def pct(samples: list[float], p: float) -> float:
    samples = sorted(samples)
    return samples[int(p * (len(samples) - 1))]


def run(name: str, platform: Platform, n_queries: int) -> list[str]:
    t0 = time.perf_counter()
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        optimize(s)  # what an operator runs after a bulk load: `cmcc index optimize`
    print(f"{name}: index optimize in {time.perf_counter() - t0:.1f} s")
    rng = random.Random(7)
    qs = windows(rng, n_queries)
    viewer = Viewer(_cmcc(platform), "CMCC", True)
    times, hits = [], []
    for bbox, start, end in qs:
        with platform.unit_of_work(Principal.system_operator()) as s:
            stmt = (
                select(Incident.id)
                .where(
                    release_filter(Incident, viewer),
                    platform.spatial.bbox_time_filter(
                        Incident, bbox, Incident.occurred_at, start, end
                    ),
                )
                .limit(1000)
            )
            t0 = time.perf_counter()
            found = s.execute(stmt).all()
            times.append((time.perf_counter() - t0) * 1000)
            hits.append(len(found))
    lines = [
        f"{name:<11} database  p50 {pct(times, 0.5):6.2f} ms  p95 {pct(times, 0.95):6.2f} ms  "
        f"(target 5 ms)   hits per query: median {statistics.median(hits):.0f}, max {max(hits)}"
    ]
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        user = add_user(s, f"bench-{uuid.uuid4().hex[:6]}", "CMCC", Role.STAFF_OFFICER)
        token = create_token(s, user, SECRET)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    http_times = []
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    ) as http:
        for bbox, start, end in qs:
            params = {
                "bbox": ",".join(f"{v:.6f}" for v in bbox),
                "limit": 500,
                "datetime": f"{start.isoformat()}/{end.isoformat()}",
            }
            t0 = time.perf_counter()
            r = http.get("/api/v1/incidents", params=params)
            http_times.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
    server.should_exit = True
    thread.join(timeout=10)
    lines.append(
        f"{name:<11} HTTP      p50 {pct(http_times, 0.5):6.2f} ms  "
        f"p95 {pct(http_times, 0.95):6.2f} ms  (target 30 ms; first page of 500 "
        "with count and JSON)"
    )
    return lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"{args.rows:,} incidents over one year in the Strip's box; {args.queries} queries"
    )
    results: list[str] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as home:
                platform = bootstrap(Settings(home=Path(home), secret_key=SECRET))
                initialize(platform)
                owner = _cmcc(platform)
                data, *_ = rows(args.rows, owner, np.random.default_rng(1))
                t0 = time.perf_counter()
                load_sqlite(platform, data)
                print(f"SQLite: loaded {args.rows:,} in {time.perf_counter() - t0:.1f} s")
                results += run("SQLite", platform, args.queries)
                platform.dispose()
        else:
            db = f"cmcc_query_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            try:
                raw = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
                platform = bootstrap(
                    Settings(
                        database_url=raw.replace("postgresql://", "postgresql+psycopg://"),
                        secret_key=SECRET,
                    )
                )
                initialize(platform)
                data, *_ = rows(args.rows, _cmcc(platform), np.random.default_rng(1))
                t0 = time.perf_counter()
                load_postgres(raw, data)
                print(f"PostgreSQL: loaded {args.rows:,} in {time.perf_counter() - t0:.1f} s")
                results += run("PostgreSQL", platform, args.queries)
                platform.dispose()
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print()
    for line in results:
        print(line)


def _cmcc(platform: Platform) -> int:
    from cmcc.access.models import Organization

    with platform.unit_of_work(Principal.system_operator()) as s:
        return int(s.scalar(select(Organization.id).where(Organization.code == "CMCC")) or 0)


if __name__ == "__main__":
    main()
