"""The picture's common request over 1,000,000 incidents: a box and a 30-day window.

Targets (issue 18): the common request (first page of 100, or a property selection with
`properties=`, OGC API - Features Part 6) p95 under 10 ms over HTTP, the database alone p95
under 3 ms, on SQLite (R*Tree with the marking as auxiliary columns) and on PostgreSQL (PostGIS
GiST on geom and time). The previous paths are measured side by side in the same run: the
page on the index as the inserts left it (before `cmcc index optimize` packs SQLite's R*Tree
and clusters PostgreSQL's table), the statement of issue 3 (ids, the release policy on the
table rows) and the page of 500; and the page's two statements as SQL text to the driver (the
database's own time), beside the page and its total in one statement (a window count, capped:
`counted_page`), as SQL text and through SQLAlchemy: the form weighed and left (docs).
Prints figures, asserts nothing. The rows are bulk-loaded into a scratch database (SQLite:
executemany with the R*Tree triggers live; PostgreSQL: COPY) with mixed markings (a fifth of
them the viewer may not see), then `cmcc index optimize` runs, as after any bulk load. HTTP goes
to a real `cmcc serve` (a subprocess on the scratch database).

    PYTHONPATH=src .venv/bin/python bench/picture_query_bench.py [--rows 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psycopg
import shapely
from sqlalchemy import func, select, text

from cmcc.access.domain import Principal, Role
from cmcc.access.policy import release_filter, visible
from cmcc.access.service import add_user, create_token
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.pagination import paginate
from cmcc.core.releasability import Viewer
from cmcc.geo.maintenance import optimize
from cmcc.incidents import readout
from cmcc.incidents.models import Incident
from cmcc.initialize import initialize

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
LON0, LAT0, LON1, LAT1 = 34.22, 31.22, 34.57, 31.60
T0 = dt.datetime(2025, 10, 10, tzinfo=dt.UTC)
SPAN_S = 365 * 86400
TYPES = ["ceasefire_violation_fire", "aid_obstruction", "explosive_ordnance_found", "demonstration"]
CAP = 10_000  # matches a one-statement count holds at most (`counted_page`)
SELECTION = "type,severity,occurred_at,status"  # what the map styles and labels by
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
    "release_to",
    "version",
    "created_at",
    "updated_at",
]


def markings(i: int, cmcc: int, other: int) -> tuple[int, str, str | None]:
    """Owner and marking of row i: 70 % mission, 10 % public (CMCC's), 10 % owner-only and
    10 % released to another organization (another's): the viewer (CMCC) sees 80 %."""
    return {
        0: (cmcc, "public", None),
        1: (other, "owner", None),
        2: (other, "rel", "|UNDP|"),
    }.get(i % 10, (cmcc, "mission", None))


def rows(n: int, cmcc: int, other: int, rng: np.random.Generator) -> list[tuple[Any, ...]]:
    lon = rng.uniform(LON0, LON1, n)
    lat = rng.uniform(LAT0, LAT1, n)
    secs = rng.uniform(0, SPAN_S, n)
    wkb = shapely.to_wkb(shapely.points(lon, lat))
    now = dt.datetime.now(dt.UTC)
    out = []
    for i in range(n):
        t = T0 + dt.timedelta(seconds=float(secs[i]))
        owner, kind, release_to = markings(i, cmcc, other)
        x, y = float(lon[i]), float(lat[i])
        head = (TYPES[i % 4], t, t, 1 + i % 5, 0, 0, 0, 0, "C", 3, "Small arms fire", "[]")
        tail = ("reported", "", "bench", wkb[i], x, y, x, y, owner, kind, release_to, 1, now, now)
        out.append((*head, *tail))
    return out


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
        conn.autocommit = True
        cur.execute("VACUUM ANALYZE incidents")


Window = tuple[tuple[float, float, float, float], dt.datetime, dt.datetime]


def windows(rng: random.Random, n: int) -> list[Window]:
    """Boxes of about 1-3 km and windows of 30 days: median about 180 hits the viewer sees."""
    out = []
    for _ in range(n):
        size = rng.uniform(0.0105, 0.0315)
        x, y = rng.uniform(LON0, LON1 - size), rng.uniform(LAT0, LAT1 - size)
        start = T0 + dt.timedelta(seconds=rng.uniform(0, SPAN_S - 30 * 86400))
        out.append(((x, y, x + size, y + size), start, start + dt.timedelta(days=30)))
    return out


def pct(samples: list[float], p: float) -> float:
    samples = sorted(samples)
    return samples[int(p * (len(samples) - 1))]


def figures(samples: list[float]) -> str:
    return f"p50 {pct(samples, 0.5):6.2f} ms  p95 {pct(samples, 0.95):6.2f} ms"


def in_turn(names: list[str], i: int) -> list[str]:
    """`names` starting with the i-th (modulo): each window starts with the next one."""
    k = i % len(names)
    return names[k:] + names[:k]


def timed(
    platform: Platform, qs: list[Window], queries: dict[str, Callable[[Any, Window], Any]]
) -> dict[str, list[float]]:
    """Each query on each window, the queries in turn for every window (so that the machine's
    load, shared and noisy, falls on all of them alike), each window starting with the next
    query (a query run after another on the same window finds its pages warm)."""
    times: dict[str, list[float]] = {name: [] for name in queries}
    names = list(queries)
    for i, w in enumerate(qs):
        for name in in_turn(names, i):
            with platform.unit_of_work(Principal.system_operator()) as s:
                t0 = time.perf_counter()
                queries[name](s, w)
                times[name].append((time.perf_counter() - t0) * 1000)
    return times


def page_statement(platform: Platform, viewer: Viewer, w: Window, in_index: bool) -> Any:
    """What the picture's list and the OGC items run: visible incidents in the box and window
    (with the release policy inside the index too, or on the table rows only: the previous)."""
    bbox, start, end = w
    spatial = platform.spatial.bbox_time_filter(
        Incident, bbox, Incident.occurred_at, start, end, viewer if in_index else None
    )
    return visible(Incident, viewer).where(spatial)


def explain(platform: Platform, viewer: Viewer, w: Window) -> list[str]:
    stmt = page_statement(platform, viewer, w, True).with_only_columns(*readout.COLUMNS)
    stmt = stmt.order_by(Incident.id).limit(101)
    sql = str(stmt.compile(platform.engine, compile_kwargs={"literal_binds": True}))
    with platform.engine.connect() as conn:
        if platform.engine.dialect.name == "sqlite":
            plan = conn.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
            code = conn.execute(text("EXPLAIN " + sql)).all()  # the bytecode: where the policy runs
            shown = (
                "VFilter",
                "VColumn",
                "Eq",
                "Ne",
                "Function",
                "IdxInsert",
                "VNext",
                "SeekRowid",
            )
            return [f"  {'  ' * (r[1] > 0)}{r[3]}" for r in plan] + [
                f"    {r[0]:>3} {r[1]:<10} {r[2]} {r[3]} {r[4]}" for r in code if r[1] in shown
            ][:16]
        plan = conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)).all()
        return ["  " + r[0] for r in plan]


def driver_sql(platform: Platform, viewer: Viewer, w: Window) -> tuple[str, str]:
    """The page's two statements (the page of 101 rows, the count) as SQL text with the values
    in it: what the database alone runs, without SQLAlchemy's building and row processing."""
    stmt = page_statement(platform, viewer, w, True)
    page = stmt.with_only_columns(*readout.COLUMNS).order_by(Incident.id).limit(101)
    count = select(func.count()).select_from(stmt.order_by(None).subquery())
    return tuple(  # type: ignore[return-value]
        str(q.compile(platform.engine, compile_kwargs={"literal_binds": True}))
        for q in (page, count)
    )


def counted_page(stmt: Any, cap: int | None = CAP) -> Any:
    """The first page of 101 and the count of all matches in one statement (`count(*) OVER ()`,
    counted before the LIMIT); with `cap`, the window over at most cap + 1 matches (past it,
    the count would be a statement of its own)."""
    hits = stmt.with_only_columns(*readout.COLUMNS).order_by(None)
    hits = (hits if cap is None else hits.limit(cap + 1)).subquery()
    return select(*hits.c, func.count().over().label("total")).order_by(hits.c.id).limit(101)


def one_statement_sql(platform: Platform, viewer: Viewer, w: Window, cap: int | None = CAP) -> str:
    """`counted_page` as SQL text with the values in it."""
    page = counted_page(page_statement(platform, viewer, w, True), cap)
    return str(page.compile(platform.engine, compile_kwargs={"literal_binds": True}))


def whole_strip(platform: Platform, viewer: Viewer) -> list[str]:
    """The largest request a map can make, the whole box and the whole year (about 800,000
    matches): the two statements, one statement with the window over every match (which holds
    every match before it gives a row: why `counted_page` caps it), and `paginate` itself."""
    w: Window = ((LON0, LAT0, LON1, LAT1), T0, T0 + dt.timedelta(seconds=SPAN_S))
    sql = {
        "two statements, SQL alone": driver_sql(platform, viewer, w),
        "one statement, no cap, SQL alone": (one_statement_sql(platform, viewer, w, None),),
    }
    lines = []
    for label in [*sql, "paginate (the product's path)"]:
        samples = []
        for _ in range(3):
            with platform.unit_of_work(Principal.system_operator()) as s:
                t0 = time.perf_counter()
                if label in sql:
                    for statement in sql[label]:
                        s.connection().exec_driver_sql(statement).all()
                else:
                    stmt = page_statement(platform, viewer, w, True)
                    paginate(s, stmt, Incident.id, None, 100, columns=readout.COLUMNS)
                samples.append((time.perf_counter() - t0) * 1000)
        lines.append(f"  whole box, one year, {label:<34} best {min(samples):8.1f} ms")
    return lines


def serialization(platform: Platform, viewer: Viewer, qs: list[Window]) -> list[str]:
    """Per-record cost of a page of 100 built from rows to bytes (the list's JSON), and where
    the time goes (cProfile, first lines)."""
    pages = []
    with platform.unit_of_work(Principal.system_operator()) as s:
        for w in qs[:50]:
            stmt = page_statement(platform, viewer, w, True)
            pages.append(paginate(s, stmt, Incident.id, None, 100, columns=readout.COLUMNS).items)
        n = sum(len(p) for p in pages)

        def build() -> None:
            for items in pages:
                orjson.dumps(
                    {"data": readout.public_records(s, items)}, option=readout.JSON_OPTIONS
                )

        build()
        t0 = time.perf_counter()
        for _ in range(5):
            build()
        per = (time.perf_counter() - t0) / (5 * n) * 1e6
        prof = cProfile.Profile()
        prof.runcall(build)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(8)
    lines = [f"  rows to JSON bytes: {per:.1f} us a record ({n} records in {len(pages)} pages)"]
    lines += ["  " + ln for ln in out.getvalue().splitlines() if ln.strip()][3:16]
    return lines


def run(name: str, platform: Platform, n_queries: int, home: Path) -> list[str]:
    qs = windows(random.Random(7), n_queries)
    viewer = Viewer(_org(platform, "CMCC"), "CMCC", True)
    hits: list[int] = []

    def page(in_index: bool) -> Callable[[Any, Window], None]:
        def query(s: Any, w: Window) -> None:
            stmt = page_statement(platform, viewer, w, in_index)
            paginate(s, stmt, Incident.id, None, 100, columns=readout.COLUMNS)

        return query

    # The index as the inserts left it (the previous state of any database), then optimized.
    as_loaded = {"page of 100 + count, index as loaded": page(True)}
    timed(platform, qs[:20], as_loaded)
    before = timed(platform, qs, as_loaded)
    t0 = time.perf_counter()
    # what an operator runs after a bulk load: `cmcc index optimize`
    optimize(lambda: platform.unit_of_work(Principal.system_operator(), write=True))
    print(f"{name}: index optimize in {time.perf_counter() - t0:.1f} s")
    print(f"{name}: the plan of the page query (first window)")
    print("\n".join(explain(platform, viewer, qs[0])))
    sql = {id(w): driver_sql(platform, viewer, w) for w in qs}
    one = {id(w): one_statement_sql(platform, viewer, w) for w in qs}

    def old_ids(s: Any, w: Window) -> None:  # issue 3's statement: ids, policy on the rows
        bbox, start, end = w
        cond = platform.spatial.bbox_time_filter(Incident, bbox, Incident.occurred_at, start, end)
        hits.append(
            len(
                s.execute(
                    select(Incident.id).where(release_filter(Incident, viewer), cond).limit(1000)
                ).all()
            )
        )

    def new_ids(s: Any, w: Window) -> None:
        s.execute(page_statement(platform, viewer, w, True).with_only_columns(Incident.id)).all()

    def driver(s: Any, w: Window) -> None:  # the same two statements, SQL text to the driver
        conn = s.connection()
        for statement in sql[id(w)]:
            conn.exec_driver_sql(statement).all()

    def driver_one(s: Any, w: Window) -> None:  # the page and its total in one statement
        s.connection().exec_driver_sql(one[id(w)]).all()

    def one_statement(s: Any, w: Window) -> None:  # the same through SQLAlchemy
        s.execute(counted_page(page_statement(platform, viewer, w, True))).all()

    measured = {
        "ids, policy on the rows (previous)": old_ids,
        "page of 100 + count, the SQL alone": driver,
        "page and count in one (capped window), SQL alone": driver_one,
        "ids, policy in the index": new_ids,
        "page of 100 + count, policy on the rows": page(False),
        "page and count in one (capped window), SQLAlchemy": one_statement,
        "page of 100 + count, policy in the index": page(True),
    }
    timed(platform, qs[:20], measured)  # warm the cache
    hits.clear()
    results = timed(platform, qs, measured)
    lines = [f"{name:<10} DB   {k:<50} {figures(v)}" for k, v in (before | results).items()]
    lines.append(
        f"{name:<10}      hits per query: median {statistics.median(hits):.0f}, max {max(hits)}"
    )
    print(f"{name}: the page and its total, two statements or one (the SQL alone)")
    print("\n".join(whole_strip(platform, viewer)))
    print(f"{name}: serialization")
    print("\n".join(serialization(platform, viewer, qs)))
    lines += http(platform, home, qs, name)
    return lines


def http(platform: Platform, home: Path, qs: list[Window], name: str) -> list[str]:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        user = add_user(s, f"bench-{uuid.uuid4().hex[:6]}", "CMCC", Role.STAFF_OFFICER)
        token = create_token(s, user, SECRET)
    port = free_port()
    env = {
        **os.environ,
        "CMCC_HOME": str(home),
        "CMCC_DATABASE_URL": platform.engine.url.render_as_string(hide_password=False),
        "CMCC_SECRET_KEY": SECRET,
        "CMCC_LOG_LEVEL": "warning",
    }
    log = home / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cmcc",
                "serve",
                "--no-gateway",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    requests = {
        "REST page of 500 with count (previous)": ("/api/v1/incidents", {"limit": 500}),
        "REST first page (100)": ("/api/v1/incidents", {}),
        "OGC items first page (100)": ("/ogc/collections/incidents/items", {}),
        f"OGC items properties={SELECTION}": (
            "/ogc/collections/incidents/items",
            {"properties": SELECTION},
        ),
    }
    lines = []
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
        ) as client:
            for _ in range(300):
                try:
                    if client.get("/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            samples: dict[str, list[float]] = {label: [] for label in requests}
            labels = list(requests)
            for i, (bbox, start, end) in enumerate(qs[:20] + qs):  # in turn, as in `timed`
                for label in in_turn(labels, i):
                    path, extra = requests[label]
                    params = {
                        "bbox": ",".join(f"{v:.6f}" for v in bbox),
                        "datetime": f"{start.isoformat()}/{end.isoformat()}",
                    } | extra
                    t0 = time.perf_counter()
                    r = client.get(path, params=params)
                    if i >= len(qs[:20]):  # the first 20 warm up
                        samples[label].append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
            lines += [f"{name:<10} HTTP {k:<50} {figures(v)}" for k, v in samples.items()]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(platform: Platform, n: int) -> list[tuple[Any, ...]]:
    from cmcc.access.domain import OrgKind
    from cmcc.access.service import upsert_organization

    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        upsert_organization(s, "UNDP", "UN Development Programme", OrgKind.UN_AGENCY)
        upsert_organization(s, "XPL", "A party's liaison", OrgKind.PARTY_LIAISON, is_member=False)
    return rows(n, _org(platform, "CMCC"), _org(platform, "XPL"), np.random.default_rng(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}; "
        f"{args.rows:,} incidents over one year in the Strip's box; {args.queries} queries"
    )
    results: list[str] = []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            if backend == "sqlite":
                platform = bootstrap(Settings(home=home, secret_key=SECRET))
                initialize(platform)
                data = prepare(platform, args.rows)
                t0 = time.perf_counter()
                load_sqlite(platform, data)
                print(f"SQLite: loaded {args.rows:,} in {time.perf_counter() - t0:.1f} s")
                del data
                results += run("SQLite", platform, args.queries, home)
                platform.dispose()
                continue
            db = f"cmcc_query_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            try:
                raw = PG_ADMIN.rsplit("/", 1)[0] + "/" + db
                url = raw.replace("postgresql://", "postgresql+psycopg://")
                platform = bootstrap(Settings(home=home, database_url=url, secret_key=SECRET))
                initialize(platform)
                data = prepare(platform, args.rows)
                t0 = time.perf_counter()
                load_postgres(raw, data)
                print(f"PostgreSQL: loaded {args.rows:,} in {time.perf_counter() - t0:.1f} s")
                del data
                results += run("PostgreSQL", platform, args.queries, home)
                platform.dispose()
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print()
    for line in results:
        print(line)
    print(f"load average after: {os.getloadavg()}")


def _org(platform: Platform, code: str) -> int:
    from cmcc.access.models import Organization

    with platform.unit_of_work(Principal.system_operator()) as s:
        return int(s.scalar(select(Organization.id).where(Organization.code == code)) or 0)


if __name__ == "__main__":
    main()
