"""The aid flow dashboard over 3 years of daily figures: 5 crossings x 6 cargo categories x
1,096 days (32,880 entries; 80 % marked mission, 10 % owner, 10 % rel:GBR) and targets of every
scope (all, per crossing, per category, each changed every quarter).

Target (issue 14): p95 under 100 ms on SQLite and on PostgreSQL. Prints p50/p95 over repeated
calls of `cmcc.humanitarian.aidflow_dashboard.dashboard` (what `GET /api/v1/aid-flow/dashboard`
and the /aid-flow page call) for the operator (every figure) and for a member nation's liaison
cell (the release filter inside the aggregates), over the 3 years, the last 60 days, and one
crossing and category over the 3 years. Asserts nothing. The entries are bulk-inserted into a
scratch database, which is dropped at the end.

    .venv/bin/python bench/aidflow_bench.py [--days 1096] [--calls 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert, select, text

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.releasability import Viewer
from cmcc.humanitarian.aidflow_dashboard import dashboard
from cmcc.humanitarian.domain import CargoCategory
from cmcc.humanitarian.models import AidFlowEntry, AidFlowTarget, Crossing
from cmcc.initialize import initialize

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
TARGET_MS = 100.0
CODES = ("KS", "RAF", "EREZ", "ZIK", "KIS")
LAST = dt.date(2026, 12, 1)


def fill(platform: Platform, days: int) -> tuple[int, int]:
    """The crossings, entries and targets; (the first crossing's id, IDN's id)."""
    rng = random.Random(14)
    first = LAST - dt.timedelta(days=days - 1)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        cmcc = int(s.scalar(select(Organization.id).where(Organization.code == "CMCC")) or 0)
        idn = upsert_organization(s, "IDN", "Indonesia", OrgKind.NATION).id
        upsert_organization(s, "GBR", "United Kingdom", OrgKind.NATION)
        base = {"owner_org_id": cmcc, "version": 1, "created_at": now, "updated_at": now}
        ids = []
        for i, code in enumerate(CODES):
            crossing = Crossing(
                code=code, name=code, lon=34.3, lat=31.3 + i / 100, owner_org_id=cmcc
            )
            s.add(crossing)
            s.flush()
            ids.append(crossing.id)
        rows: list[dict[str, Any]] = []
        for d in range(days):
            day = first + dt.timedelta(days=d)
            for crossing_id in ids:
                for cat in CargoCategory:
                    roll = rng.random()
                    marking = "mission" if roll < 0.8 else "owner" if roll < 0.9 else "rel"
                    rows.append(
                        {
                            **base,
                            "crossing_id": crossing_id,
                            "day": day,
                            "cargo_category": cat.value,
                            "trucks": rng.randrange(0, 200),
                            "source": "bench",
                            "illustrative": True,
                            "releasability": marking,
                            "release_to": "|GBR|" if marking == "rel" else None,
                        }
                    )
        s.execute(insert(AidFlowEntry.__table__), rows)  # type: ignore[arg-type]
        targets = []
        for quarter in range(0, days, 91):
            starts = first + dt.timedelta(days=quarter)
            scopes: list[tuple[int | None, str | None]] = [(None, None)]
            scopes += [(c, None) for c in ids] + [(None, c.value) for c in CargoCategory]
            for scope_crossing, scope_category in scopes:
                targets.append(
                    {
                        **base,
                        "crossing_id": scope_crossing,
                        "cargo_category": scope_category,
                        "trucks_per_day": rng.randrange(50, 600),
                        "starts_on": starts,
                        "source": "bench",
                        "releasability": "mission",
                        "release_to": None,
                    }
                )
        s.execute(insert(AidFlowTarget.__table__), targets)  # type: ignore[arg-type]
    with platform.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return ids[0], idn


def pct(samples: list[float], p: float) -> float:
    samples = sorted(samples)
    return samples[int(p * (len(samples) - 1))]


def run(name: str, platform: Platform, calls: int, days: int, crossing: int, idn: int) -> list[str]:
    viewers = {
        "operator": Principal.system_operator().viewer,
        "IDN liaison": Viewer(idn, "IDN", True),
    }
    periods = {
        f"{days} days": (LAST - dt.timedelta(days=days - 1), LAST, None, None),
        "60 days": (LAST - dt.timedelta(days=59), LAST, None, None),
        f"{days} d, KS food": (
            LAST - dt.timedelta(days=days - 1),
            LAST,
            crossing,
            CargoCategory.FOOD,
        ),
    }
    lines = []
    for who, viewer in viewers.items():
        for label, (start, end, crossing_id, cat) in periods.items():
            times = []
            with platform.unit_of_work(Principal.system_operator()) as s:
                dashboard(s, viewer, start, end)  # warm the caches
                for _ in range(calls):
                    t0 = time.perf_counter()
                    board = dashboard(
                        s, viewer, start, end, crossing_id=crossing_id, cargo_category=cat
                    )
                    times.append((time.perf_counter() - t0) * 1000)
            p50, p95 = statistics.median(times), pct(times, 0.95)
            verdict = "under" if p95 < TARGET_MS else "OVER"
            lines.append(
                f"{name:<10} {who:<11} {label:<18} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
                f"({verdict} {TARGET_MS:.0f} ms; {board.total.trucks:,} trucks, "
                f"{len(board.days)} days)"
            )
            print(lines[-1])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=1096)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"{args.days * len(CODES) * len(CargoCategory):,} entries; {args.calls} calls per figure"
    )
    results: list[str] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as home:
                platform = bootstrap(Settings(home=Path(home), secret_key=SECRET))
                initialize(platform)
                t0 = time.perf_counter()
                crossing, idn = fill(platform, args.days)
                print(f"SQLite: loaded in {time.perf_counter() - t0:.1f} s")
                results += run("SQLite", platform, args.calls, args.days, crossing, idn)
                platform.dispose()
        else:
            db = f"cmcc_aidflow_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            try:
                raw = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
                url = raw.replace("postgresql://", "postgresql+psycopg://")
                platform = bootstrap(Settings(database_url=url, secret_key=SECRET))
                initialize(platform)
                t0 = time.perf_counter()
                crossing, idn = fill(platform, args.days)
                print(f"PostgreSQL: loaded in {time.perf_counter() - t0:.1f} s")
                results += run("PostgreSQL", platform, args.calls, args.days, crossing, idn)
                platform.dispose()
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(f"\nload average now {os.getloadavg()[0]:.2f}")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
