"""The SITREP of a busy day as PDF: 10,000 incidents, 2,000 tasks, 1,000 unit reports (and
1,000 units, 1,000 alerts), on SQLite and on PostgreSQL.

Target (issue 13): under 5 s as PDF. Prints p50/p95 over a few runs of the whole report for a
member nation (the release policy in every query: a quarter of the records are its own, a
quarter another nation's, half mission-wide), split into gathering, HTML and PDF, with the
machine's load average and cores. Asserts nothing. The records are bulk-inserted with
SQLAlchemy core into a scratch database, dropped at the end.

    .venv/bin/python bench/sitrep_bench.py [--runs 5] [--backends sqlite,postgresql]
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
import shapely
from sqlalchemy import insert, select

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.command import sitrep_pdf, sitrep_render
from cmcc.command.models import Unit, UnitReport, UnitTask
from cmcc.command.sitrep import gather
from cmcc.config import Settings
from cmcc.incidents.domain import IncidentType, VerificationStatus
from cmcc.incidents.models import Alert, Incident
from cmcc.initialize import initialize

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
TARGET_S = 5.0
DAY = dt.date(2026, 11, 20)
NATIONS = ("IDN", "AZE")


def at(seconds: float) -> dt.datetime:
    return dt.datetime.combine(DAY, dt.time(), tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def marking(rng: random.Random, orgs: dict[str, int]) -> dict[str, Any]:
    """Half mission-wide (owner IDN or AZE), a quarter owner-only of each nation."""
    nation = rng.choice(NATIONS)
    kind = "mission" if rng.random() < 0.5 else "owner"
    return {"owner_org_id": orgs[nation], "releasability": kind}


def load(platform: Platform, counts: dict[str, int]) -> None:
    rng = random.Random(13)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for code in NATIONS:
            upsert_organization(s, code, f"Nation {code}", OrgKind.NATION, is_member=True)
    with platform.unit_of_work(Principal.system_operator()) as s:
        rows = s.execute(select(Organization.code, Organization.id))
        orgs = {code: id_ for code, id_ in rows}  # noqa: C416 - rows, not pairs
    types = list(IncidentType)
    statuses = list(VerificationStatus)
    with platform.engine.begin() as conn:
        units = []
        for i in range(counts["units"]):
            nation = NATIONS[i % 2]
            units.append(
                {
                    "id": i + 1,
                    "name": f"Unit {i}",
                    "short_name": f"U{i}",
                    "nation": nation,
                    "kind": "unit",
                    "echelon": "company",
                    "sidc": "SFGPUCI----E---",
                    "strength_authorized": 150,
                    "strength_assigned": 140,
                    "strength_present": rng.randint(90, 140),
                    "lon": rng.uniform(34.25, 34.5),
                    "lat": rng.uniform(31.25, 31.55),
                    "valid_from": at(-86400 * 30),
                    "owner_org_id": orgs[nation],
                    "releasability": "mission" if i % 4 else "owner",
                }
            )
        conn.execute(insert(Unit.__table__), units)
        incidents = []
        for i in range(counts["incidents"]):
            point = shapely.Point(rng.uniform(34.22, 34.55), rng.uniform(31.22, 31.58))
            when = at(rng.uniform(0, 86399))
            incidents.append(
                {
                    "id": i + 1,
                    "type": rng.choice(types).value,
                    "occurred_at": when,
                    "reported_at": when,
                    "severity": rng.randint(1, 5),
                    "killed_civilian": rng.randint(0, 1),
                    "status": rng.choice(statuses).value,
                    "geom_wkb": shapely.to_wkb(point),
                    "min_x": point.x,
                    "max_x": point.x,
                    "min_y": point.y,
                    "max_y": point.y,
                    "attachments": [],
                    **marking(rng, orgs),
                }
            )
        conn.execute(insert(Incident.__table__), incidents)
        conn.execute(
            insert(Alert.__table__),
            [
                {
                    "kind": "incident_in_safe_zone",
                    "incident_id": rng.randint(1, counts["incidents"]),
                    "message": f"Incident in a safe zone ({i})",
                    "raised_at": at(rng.uniform(0, 86399)),
                    "owner_org_id": orgs["IDN"],
                }
                for i in range(counts["alerts"])
            ],
        )
        conn.execute(
            insert(UnitTask.__table__),
            [
                {
                    "title": f"Task {i}",
                    "task": "patrol",
                    "unit_lineage": (lineage := rng.randint(1, counts["units"])),
                    "issuer_lineage": lineage,
                    "starts_at": at(rng.uniform(0, 40000)),
                    "ends_at": at(rng.uniform(40000, 86399)),
                    "status": "refused_by_nation" if i % 20 == 0 else "in_progress",
                    "status_reason": "national caveat" if i % 20 == 0 else "",
                    "status_at": at(30000),
                    "issued_by": "bench",
                    **marking(rng, orgs),
                }
                for i in range(counts["tasks"])
            ],
        )
        conn.execute(
            insert(UnitReport.__table__),
            [
                {
                    "unit_lineage": u + 1,
                    "report_date": DAY,
                    "kind": "perstat",
                    "figures": {"present": 120, "on_leave": 5, "casualties": {"sick": 1}},
                    "submitted_by": "bench",
                    **marking(rng, orgs),
                }
                for u in range(counts["reports"])
            ],
        )


def run(platform: Platform, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"gather": [], "html": [], "pdf": [], "total": []}
    size = 0
    for _ in range(runs + 1):  # the first warms the caches and is not counted
        t0 = time.perf_counter()
        with platform.unit_of_work(Principal.system_operator()) as s:
            data = gather(s, "IDN", DAY)
        t1 = time.perf_counter()
        html = sitrep_render.document(data)
        t2 = time.perf_counter()
        pdf = sitrep_pdf.to_pdf(html)
        t3 = time.perf_counter()
        size = len(pdf)
        for key, value in (
            ("gather", t1 - t0),
            ("html", t2 - t1),
            ("pdf", t3 - t2),
            ("total", t3 - t0),
        ):
            times[key].append(value)
    print(
        f"    report for IDN: {data.incidents.total:,} incidents, {data.tasks.total:,} tasks, "
        f"{data.force.reports.perstat:,} PERSTAT seen; PDF {size / 1024:.0f} KiB"
    )
    return {k: v[1:] for k, v in times.items()}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(name: str, times: dict[str, list[float]]) -> None:
    for key, values in times.items():
        flag = ""
        if key == "total":
            flag = "  (target < 5 s: " + ("met" if p95(values) < TARGET_S else "NOT met") + ")"
        print(
            f"    {key:7s} p50 {statistics.median(values):6.2f} s   p95 {p95(values):6.2f} s{flag}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--tasks", type=int, default=2_000)
    parser.add_argument("--reports", type=int, default=1_000)
    args = parser.parse_args()
    counts = {
        "incidents": args.incidents,
        "tasks": args.tasks,
        "reports": args.reports,
        "units": max(args.reports, 1),
        "alerts": 1_000,
    }
    load1, load5, load15 = os.getloadavg()
    print(
        f"SITREP bench: {counts}, {args.runs} runs; cores {os.cpu_count()}, "
        f"load average {load1:.2f} {load5:.2f} {load15:.2f}"
    )
    for backend in args.backends.split(","):
        print(f"  {backend}:")
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                platform = bootstrap(Settings(home=Path(folder), secret_key=SECRET))
                initialize(platform)
                t0 = time.perf_counter()
                load(platform, counts)
                print(f"    loaded in {time.perf_counter() - t0:.1f} s")
                report(backend, run(platform, args.runs))
                platform.dispose()
        else:
            name = f"cmcc_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            url = (
                PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                + "/"
                + name
            )
            try:
                platform = bootstrap(Settings(database_url=url, secret_key=SECRET))
                initialize(platform)
                t0 = time.perf_counter()
                load(platform, counts)
                with platform.engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
                print(f"    loaded in {time.perf_counter() - t0:.1f} s")
                report(backend, run(platform, args.runs))
                platform.dispose()
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    load1, load5, load15 = os.getloadavg()
    print(f"load average after: {load1:.2f} {load5:.2f} {load15:.2f}")


if __name__ == "__main__":
    main()
