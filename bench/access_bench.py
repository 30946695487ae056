"""The access constraints report at scale: 50,000 constraints of three partners over two years,
nine in ten with a point, in the Strip's five governorates (`cmcc.geo.reference`).

Prints p50/p95 over repeated calls of `cmcc.humanitarian.access_report.report` (what
`GET /api/v1/access-constraints/report` calls) for twelve months, as the centre (every record)
and as one partner (its own third: the release policy in the query), and of the log's first
page. Asserts nothing. The records are bulk-inserted into a scratch database (dropped at the
end) on SQLite and PostgreSQL.

    .venv/bin/python bench/access_bench.py [--records 50000] [--calls 20]
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import insert

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.pagination import paginate
from cmcc.geo.reference import gaza
from cmcc.humanitarian import access_log, access_report
from cmcc.humanitarian.domain import ACCESS_IMPACT_CATEGORY, AccessImpact
from cmcc.humanitarian.models import AccessConstraint
from cmcc.initialize import initialize
from cmcc.zones import service as zones
from cmcc.zones.schemas import ZoneCreate

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
PARTNERS = ("OCHA", "UNRWA", "PRCS")
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
IMPACTS = [i for i in AccessImpact if i is not AccessImpact.OTHER]


def setup(platform: Platform) -> dict[str, Principal]:
    """The partners, the centre, and the five governorates as public zones."""
    who: dict[str, Principal] = {}
    operator = Principal.system_operator()
    with platform.unit_of_work(operator, write=True) as s:
        cmcc = upsert_organization(s, "CMCC", "Centre", OrgKind.CMCC)
        for code in PARTNERS:
            org = upsert_organization(s, code, code, OrgKind.UN_AGENCY)
            s.flush()
            who[code] = Principal(None, code, org.id, code, True, Role.HUMANITARIAN_PARTNER)
        s.flush()
        who["CMCC"] = Principal(None, "staff", cmcc.id, "CMCC", True, Role.STAFF_OFFICER)
        drawer = Principal.system_operator(cmcc.id, "CMCC")
        for f in gaza()["features"]:
            if f["properties"]["kind"] != "administrative_area":
                continue
            body = ZoneCreate(
                name=f["properties"]["name"],
                kind="administrative_area",  # type: ignore[arg-type]
                geometry=f["geometry"],
                valid_from=START,
                releasability="public",
            )
            zones.create_zone(s, drawer, body, aoi=platform.settings.aoi_bbox, fence=None)
    return who


def rows(n: int, who: dict[str, Principal]) -> list[dict[str, Any]]:
    rng = random.Random(14)
    strip = next(f for f in gaza()["features"] if f["properties"]["key"] == "gaza-strip")
    ring = strip["geometry"]["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    now = dt.datetime.now(dt.UTC)
    out = []
    for i in range(n):
        impact = rng.choice(IMPACTS)
        owner = who[PARTNERS[i % len(PARTNERS)]]
        located = rng.random() < 0.9
        out.append(
            {
                "occurred_at": START + dt.timedelta(minutes=rng.randrange(0, 2 * 365 * 24 * 60)),
                "category": ACCESS_IMPACT_CATEGORY[impact].value,
                "impact": impact.value,
                "place": f"Place {i % 400}",
                "lon": rng.uniform(min(xs), max(xs)) if located else None,
                "lat": rng.uniform(min(ys), max(ys)) if located else None,
                "delay_minutes": rng.randrange(10, 600)
                if impact is AccessImpact.DELAYED_AT_CHECKPOINT
                else None,
                "description": "",
                "source": "bench",
                "reported_by": f"bench@{owner.org_code}",
                "owner_org_id": owner.org_id,
                "releasability": "rel",
                "release_to": "|CMCC|",
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    return out


def timed(call: Callable[[], Any], calls: int) -> tuple[float, float]:
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def run(name: str, platform: Platform, n: int, calls: int) -> list[str]:
    who = setup(platform)
    data = rows(n, who)
    t0 = time.perf_counter()
    with platform.engine.begin() as conn:
        conn.execute(insert(AccessConstraint.__table__), data)
    print(f"{name}: loaded {n:,} in {time.perf_counter() - t0:.1f} s")
    first, last = access_report.Month(2025, 7), access_report.Month(2026, 6)
    out = []
    for label, principal in (("centre", who["CMCC"]), ("partner", who["UNRWA"])):

        def report(p: Principal = principal) -> Any:
            with platform.unit_of_work(p) as s:
                return access_report.report(s, p, platform.spatial, first, last)

        def page(p: Principal = principal) -> Any:
            with platform.unit_of_work(p) as s:
                stmt = access_log.statement(s, p, access_log.Filters())
                page = paginate(s, stmt, AccessConstraint.id, None, 50)
                return access_log.public(s, p, page.items)

        counted = report().total.count
        p50, p95 = timed(report, calls)
        out.append(
            f"{name}, {label}: report of 12 months ({counted:,} records read) "
            f"p50 {p50:.0f} ms, p95 {p95:.0f} ms"
        )
        p50, p95 = timed(page, calls)
        out.append(f"{name}, {label}: first page of the log p50 {p50:.0f} ms, p95 {p95:.0f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
        f"{args.records:,} access constraints; {args.calls} calls per figure"
    )
    results: list[str] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as home:
                platform = bootstrap(Settings(home=Path(home), secret_key=SECRET))
                initialize(platform)
                results += run("SQLite", platform, args.records, args.calls)
                platform.dispose()
            continue
        db = f"cmcc_access_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        try:
            raw = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
            url = raw.replace("postgresql://", "postgresql+psycopg://")
            platform = bootstrap(Settings(database_url=url, secret_key=SECRET))
            initialize(platform)
            results += run("PostgreSQL", platform, args.records, args.calls)
            platform.dispose()
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(f"\nload average now {os.getloadavg()[0]:.2f}")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
