"""The funding summary at scale: 100,000 flows (pledges, the commitments that convert them,
the payments that convert those, some revised), grouped by donor, phase, sector and month.

Target (issue 18 goal 3): p95 under 50 ms for every caller, on SQLite and on PostgreSQL. Prints
p50/p95 over repeated calls of `cmcc.funding.reports.summary` (what `GET /api/v1/funding/summary`
and `cmcc funding report` call: the converted totals kept per marking) and, side by side in the
same run, of `cmcc.funding.reference.summary` (the previous path: a pass over the flows), for the
operator (every flow) and for a member donor (the release policy in the query; some converting
flows hidden from them), and whether both give the same figures. Asserts nothing. The flows are
bulk-loaded into a scratch database (SQLite: executemany; PostgreSQL: COPY, then ANALYZE), the
totals rebuilt from them (`cmcc.funding.totals.rebuild`, as the migration does), and the
database dropped at the end.

    .venv/bin/python bench/funding_bench.py [--flows 100000] [--calls 30]
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
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal
from cmcc.access.models import Organization
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.releasability import Viewer
from cmcc.funding import flows as funding_flows
from cmcc.funding import reference, reports, service, totals
from cmcc.funding.reports import GroupBy
from cmcc.funding.schemas import FlowCreate, PhaseCreate, PlanCreate, ProgrammeCreate
from cmcc.initialize import initialize

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
TARGET_MS = 50.0
DONORS = [f"D{i:02d}" for i in range(30)]
SECTORS = ["73010", "15250", "16040", "14021", "12230", "11120", "21020", "23630", "43030"]
COLS = [
    "id",
    "lineage_id",
    "version_no",
    "is_current",
    "status",
    "fulfils_id",
    "amount",
    "currency",
    "exchange_rate",
    "rate_date",
    "amount_usd",
    "converted_usd",
    "decision_date",
    "flow_date",
    "first_reported_date",
    "donor_org_id",
    "plan_id",
    "phase_id",
    "programme_id",
    "project_id",
    "restricted",
    "notes",
    "source",
    "owner_org_id",
    "releasability",
    "release_to",
    "version",
    "created_at",
    "updated_at",
]


def tree(platform: Platform) -> tuple[int, int, list[int], dict[int, int], list[int]]:
    """(CMCC's id, the plan, its phases, programme -> phase, the donors' ids)."""
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        cmcc = int(s.scalar(select(Organization.id).where(Organization.code == "CMCC")) or 0)
        officer = Principal.system_operator(cmcc, "CMCC")
        donors = [upsert_organization(s, c, f"Donor {c}", OrgKind.DONOR).id for c in DONORS]
        plan = service.create_plan(
            s,
            officer,
            PlanCreate(
                code="BENCH",
                title="Bench plan",
                start_date=dt.date(2026, 1, 1),
                end_date=dt.date(2030, 12, 31),
                budget_usd=Decimal("67000000000.00"),
                iati_identifier="XM-CMCC-BENCH",
            ),
        )
        phases, programmes = [], {}
        for n, budget in ((1, "3500000000"), (2, "30000000000"), (3, "33500000000")):
            phase = service.create_phase(
                s,
                officer,
                PhaseCreate(
                    plan_id=plan.id,
                    number=n,
                    title=f"Phase {n}",
                    start_date=dt.date(2026, 1, 1),
                    end_date=dt.date(2030, 12, 31),
                    budget_usd=Decimal(budget),
                ),
            )
            phases.append(phase.id)
            for code in SECTORS:
                prog = service.create_programme(
                    s, officer, ProgrammeCreate(phase_id=phase.id, dac_code=code, title=code)
                )
                programmes[prog.id] = phase.id
        return cmcc, plan.id, phases, programmes, donors


def flows(
    n: int, owner: int, plan: int, programmes: dict[int, int], donors: list[int]
) -> list[tuple[Any, ...]]:
    """About 45 % pledges, 33 % commitments converting them, 22 % payments converting those;
    5 % of the flows have an older version kept (not current)."""
    rng = random.Random(1)
    now = dt.datetime(2026, 6, 1, 12, 0, 0, tzinfo=dt.UTC)
    out: list[tuple[Any, ...]] = []
    open_pledges: list[tuple[int, int, int, int]] = []  # id, donor, cents, programme
    open_commitments: list[tuple[int, int, int, int]] = []
    while len(out) < n:
        roll = rng.random()
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 900))
        next_id = len(out) + 1
        if roll < 0.45 or not open_pledges:
            status, fulfils = "pledge", None
            donor = rng.choice(donors)
            prog = rng.choice(list(programmes))
            cents = rng.randrange(100_000_00, 50_000_000_00)
            open_pledges.append((next_id, donor, cents, prog))
        elif roll < 0.78 or not open_commitments:
            fulfils, donor, whole, prog = open_pledges.pop(rng.randrange(len(open_pledges)))
            status, cents = "commitment", int(whole * rng.uniform(0.3, 1.1))
            open_commitments.append((next_id, donor, cents, prog))
        else:
            fulfils, donor, whole, prog = open_commitments.pop(rng.randrange(len(open_commitments)))
            status, cents = "paid", int(whole * rng.uniform(0.2, 1.0))
        phase = programmes[prog]
        marking = "mission" if rng.random() < 0.8 else "owner"
        current = rng.random() >= 0.05 or len(out) + 2 > n
        versions = [(cents * 9 // 10, False), (cents, True)] if not current else [(cents, True)]
        lineage = len(out) + 1
        for v, (amount, is_current) in enumerate(versions, start=1):
            out.append(
                (
                    len(out) + 1,
                    lineage,
                    v,
                    is_current,
                    status,
                    fulfils,
                    amount,
                    "USD",
                    10**10,
                    day,
                    amount,
                    0,  # converted_usd: set below
                    day,
                    day,
                    day,
                    donor,
                    plan,
                    phase,
                    prog,
                    None,
                    False,
                    "",
                    "bench",
                    owner,
                    marking,
                    None,
                    1,
                    now,
                    now,
                )
            )
    return with_converted(out[:n])


def with_converted(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each current version's `converted_usd`: the cents of the current flows converting its
    lineage (what `cmcc.funding.flows` maintains on every write)."""
    col = {c: i for i, c in enumerate(COLS)}
    converted: dict[int, int] = {}
    for r in rows:
        if r[col["is_current"]] and r[col["fulfils_id"]] is not None:
            lineage = r[col["fulfils_id"]]
            converted[lineage] = converted.get(lineage, 0) + r[col["amount_usd"]]
    at = col["converted_usd"]
    return [
        (
            *r[:at],
            converted.get(r[col["lineage_id"]], 0) if r[col["is_current"]] else 0,
            *r[at + 1 :],
        )
        for r in rows
    ]


def load_sqlite(platform: Platform, data: list[tuple[Any, ...]]) -> None:
    raw = platform.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("BEGIN")
        fixed = [
            tuple(
                v.replace(tzinfo=None).isoformat(" ")
                if isinstance(v, dt.datetime)
                else v.isoformat()
                if isinstance(v, dt.date)
                else v
                for v in r
            )
            for r in data
        ]
        marks = ",".join("?" for _ in COLS)
        cur.executemany(f"INSERT INTO funding_flows ({','.join(COLS)}) VALUES ({marks})", fixed)
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
    finally:
        raw.close()


def load_postgres(url: str, data: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY funding_flows ({','.join(COLS)}) FROM STDIN") as copy:
            for r in data:
                copy.write_row(r)
        cur.execute("SELECT setval(pg_get_serial_sequence('funding_flows', 'id'), %s)", [len(data)])
        conn.commit()
        cur.execute("ANALYZE funding_flows")
        conn.commit()


def pct(samples: list[float], p: float) -> float:
    samples = sorted(samples)
    return samples[int(p * (len(samples) - 1))]


def fill_totals(name: str, platform: Platform) -> None:
    """The converted totals kept per marking, from the loaded flows (what the migration does)."""
    t0 = time.perf_counter()
    with platform.engine.begin() as conn:
        rows = totals.rebuild(conn)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE funding_totals")
        else:
            conn.exec_driver_sql("ANALYZE")
    print(f"{name}: totals rebuilt in {time.perf_counter() - t0:.1f} s: {rows:,} rows")


def run(name: str, platform: Platform, calls: int, member_donor: int) -> list[str]:
    viewers = {
        "operator": Principal.system_operator().viewer,
        "member donor": Viewer(member_donor, DONORS[0], True),
    }
    paths = {"before": reference.summary, "after": reports.summary}
    lines = []
    for who, viewer in viewers.items():
        for by in GroupBy:
            times: dict[str, list[float]] = {path: [] for path in paths}
            results = {}
            with platform.unit_of_work(Principal.system_operator()) as s:
                for path, summary in paths.items():
                    results[path] = summary(s, viewer, by)  # warm the caches
                for _ in range(calls):  # the two paths in turn, under the same load
                    for path, summary in paths.items():
                        t0 = time.perf_counter()
                        summary(s, viewer, by)
                        times[path].append((time.perf_counter() - t0) * 1000)
            same = "same" if results["before"] == results["after"] else "DIFFERENT"
            figures = [
                f"{path} p50 {statistics.median(t):6.1f} p95 {pct(t, 0.95):6.1f} ms"
                for path, t in times.items()
            ]
            verdict = "under" if pct(times["after"], 0.95) < TARGET_MS else "OVER"
            result = results["after"]
            lines.append(
                f"{name:<10} {who:<12} by {by.value:<6} {figures[0]} | {figures[1]} "
                f"({verdict} {TARGET_MS:.0f} ms; {same} figures; {len(result.rows)} rows, "
                f"total {result.total.total_usd:,.2f} USD)"
            )
            print(lines[-1])
    return lines


def writes(
    name: str, platform: Platform, cmcc: int, plan: int, data: list[tuple[Any, ...]], n: int = 20
) -> list[str]:
    """Record `n` commitments converting pledges through the service (each in a unit of work of
    its own, commit included), and the part of each spent keeping the totals (`totals.Change`:
    the contributions before and after, the upsert)."""
    col = {c: i for i, c in enumerate(COLS)}
    code: dict[int, str] = {}
    with platform.unit_of_work(Principal.system_operator()) as s:
        for id_, org_code in s.execute(select(Organization.id, Organization.code)):
            code[id_] = org_code
    pledges = [
        (r[col["lineage_id"]], code[r[col["donor_org_id"]]])
        for r in data
        if r[col["status"]] == "pledge" and r[col["is_current"]]
    ]
    officer = Principal.system_operator(cmcc, "CMCC")
    spent: list[float] = []
    note, apply = totals.Change.__init__, totals.Change.apply

    def timed(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent.append((time.perf_counter() - t0) * 1000)

        return wrapper

    times, kept = [], []
    totals.Change.__init__ = timed(note)  # type: ignore[method-assign]
    totals.Change.apply = timed(apply)  # type: ignore[method-assign]
    try:
        for lineage, donor in random.Random(2).sample(pledges, n):
            body = FlowCreate(
                status="commitment",
                donor=donor,
                fulfils_id=lineage,
                amount=Decimal("1000.00"),
                currency="USD",
                decision_date=dt.date(2026, 6, 1),
                plan_id=plan,
            )
            spent.clear()
            t0 = time.perf_counter()
            with platform.unit_of_work(officer, write=True) as s:
                funding_flows.create_flow(s, officer, body)
            times.append((time.perf_counter() - t0) * 1000)
            kept.append(sum(spent))
    finally:
        totals.Change.__init__, totals.Change.apply = note, apply  # type: ignore[method-assign]
    line = (
        f"{name:<10} a commitment recorded: p50 {statistics.median(times):6.1f} p95 "
        f"{pct(times, 0.95):6.1f} ms, of which keeping the totals p50 "
        f"{statistics.median(kept):5.1f} p95 {pct(kept, 0.95):5.1f} ms ({n} writes)"
    )
    print(line)
    return [line]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}; "
        f"{args.flows:,} flows; {args.calls} calls per figure"
    )
    results: list[str] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as home:
                platform = bootstrap(Settings(home=Path(home), secret_key=SECRET))
                initialize(platform)
                cmcc, plan, _, programmes, donors = tree(platform)
                data = flows(args.flows, cmcc, plan, programmes, donors)
                t0 = time.perf_counter()
                load_sqlite(platform, data)
                print(f"SQLite: loaded {len(data):,} in {time.perf_counter() - t0:.1f} s")
                fill_totals("SQLite", platform)
                results += run("SQLite", platform, args.calls, donors[0])
                results += writes("SQLite", platform, cmcc, plan, data)
                platform.dispose()
        else:
            db = f"cmcc_funding_bench_{uuid.uuid4().hex[:8]}"
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
                cmcc, plan, _, programmes, donors = tree(platform)
                data = flows(args.flows, cmcc, plan, programmes, donors)
                t0 = time.perf_counter()
                load_postgres(raw, data)
                print(f"PostgreSQL: loaded {len(data):,} in {time.perf_counter() - t0:.1f} s")
                fill_totals("PostgreSQL", platform)
                results += run("PostgreSQL", platform, args.calls, donors[0])
                results += writes("PostgreSQL", platform, cmcc, plan, data)
                platform.dispose()
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(f"\nload average now {os.getloadavg()}")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
