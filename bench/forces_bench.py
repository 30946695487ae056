"""Force generation reports at scale: 200 states, 5,000 pledges, 1,000 requirements.

Times the gap report and the strength projection on SQLite and on PostgreSQL, in the service
(what the database and Python do) and through the HTTP API of a running server (uvicorn on
loopback, with token authentication and JSON). Prints medians and p95; asserts nothing.
The target from issue 2: both reports answer in under 200 ms.

    .venv/bin/python bench/forces_bench.py [--runs 50] [--backends sqlite,postgresql]

The data is loaded with bulk inserts into a scratch database (not through the audited
services: this measures the reports, not the loading).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform as host
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import uvicorn
from sqlalchemy import insert, select

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import Organization
from cmcc.access.service import add_user, create_token, upsert_organization
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.releasability import Marking, Viewer
from cmcc.forces import domain, reports
from cmcc.forces.models import ForceTarget, Pledge, Requirement, State
from cmcc.initialize import initialize

PG_ADMIN = os.environ.get("CMCC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-" + "x" * 32
N_STATES, N_PLEDGES, N_REQUIREMENTS = 200, 5000, 1000
NATIONS = [
    "IDN",
    "MAR",
    "KAZ",
    "ALB",
    "EGY",
    "JOR",
    "ITA",
    "GBR",
    "USA",
    "PAK",
    "BGD",
    "AZE",
    "FRA",
    "DEU",
    "BRA",
    "IND",
    "NPL",
    "RWA",
    "GHA",
    "URY",
]


def _marking(text: str) -> dict[str, str | None]:
    marking = Marking.parse(text)
    return {"releasability": marking.kind.value, "release_to": marking.stored_list}


def load(platform: Platform, rng: random.Random) -> None:
    initialize(platform)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for code in NATIONS:
            upsert_organization(s, code, code, OrgKind.NATION)
        orgs = [o.id for o in s.scalars(select(Organization))]
        have = s.scalar(select(State.id).order_by(State.id.desc()).limit(1)) or 0
        extra = N_STATES - len(list(s.scalars(select(State.id))))
        s.execute(
            insert(State),
            [
                {
                    "iso3": f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}",
                    "name": f"Synthetic {i}",
                    "un_member": False,
                    "owner_org_id": orgs[0],
                    "releasability": "mission",
                    "version": 1,
                    "notes": "",
                }
                for i in range(extra)
            ],
        )
        states = list(s.scalars(select(State)))
        statuses = [st.value for st in domain.StateStatus]
        for st in states:
            st.status = rng.choice(statuses)
        assert have
        caps = [c.value for c in domain.Capability]
        markings = ["mission"] * 7 + ["rel:GBR,IDN"] * 2 + ["owner"]
        s.execute(
            insert(Requirement),
            [
                {
                    "code": f"SUR-{i}",
                    "title": f"SUR {i}",
                    "capability": rng.choice(caps),
                    "units": rng.randint(1, 4),
                    "strength_per_unit": rng.randint(50, 900),
                    "sector": rng.choice(
                        ["Rafah", "Khan Younis", "Deir al-Balah", "Gaza City", "North"]
                    ),
                    "zone_kinds": ["isf_sector"],
                    "tasks": [],
                    "owner_org_id": orgs[0],
                    **_marking(rng.choice(markings)),
                    "version": 1,
                    "notes": "",
                    "source": "",
                }
                for i in range(N_REQUIREMENTS)
            ],
        )
        req_ids = list(s.scalars(select(Requirement.id)))
        levels = [lvl.value for lvl in domain.ReadinessLevel]
        rows = []
        for i in range(N_PLEDGES):
            start = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 540))
            marking = rng.choice(markings)
            rows.append(
                {
                    "ref": f"BP-{i}",
                    "state_id": rng.choice(states).id,
                    "capability": rng.choice(caps),
                    "units": 1,
                    "strength": rng.randint(20, 900),
                    "equipment": "",
                    "readiness": rng.choice(levels),
                    "registered_on": dt.date(2025, 12, 1),
                    "renewal_due": dt.date(2026, 12, 1),
                    "earliest_deployment": start,
                    "duration_months": rng.choice([None, 12, 24]),
                    "tour_months": rng.choice([6, 9, 12]),
                    "caveats": {},
                    "requirement_id": rng.choice(req_ids) if rng.random() < 0.6 else None,
                    "owner_org_id": rng.choice(orgs),
                    **_marking(marking),
                    "version": 1,
                    "notes": "",
                    "source": "",
                }
            )
        s.execute(insert(Pledge), rows)
        s.execute(
            insert(ForceTarget),
            [
                {
                    "name": "early 2026",
                    "strength": 5000,
                    "due": dt.date(2026, 3, 31),
                    "owner_org_id": orgs[0],
                    "releasability": "mission",
                    "version": 1,
                    "source": "",
                },
                {
                    "name": "end 2026",
                    "strength": 10000,
                    "due": dt.date(2026, 12, 31),
                    "owner_org_id": orgs[0],
                    "releasability": "mission",
                    "version": 1,
                    "source": "",
                },
            ],
        )


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    fn()  # warm caches and connections
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_backend(name: str, settings: Settings, runs: int) -> list[tuple[str, str, float, float]]:
    platform = bootstrap(settings)
    load(platform, random.Random(2026))
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        staff = add_user(s, f"bench-{uuid.uuid4().hex[:6]}", "CMCC", Role.STAFF_OFFICER)
        token = create_token(s, staff, SECRET)
        cmcc = s.scalars(select(Organization).where(Organization.code == "CMCC")).one()
        viewer = Viewer(cmcc.id, "CMCC", True)

    def in_service(report: Callable[..., object]) -> Callable[[], object]:
        def run() -> object:
            with platform.unit_of_work(Principal.system_operator()) as s:
                return report(s, viewer)

        return run

    out = [
        (name, "gap report (service)", *timed(in_service(reports.gap_report), runs)),
        (name, "projection (service)", *timed(in_service(reports.projection), runs)),
    ]
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    ) as http:
        for label, path in (
            ("gap report (HTTP)", "/api/v1/forces/gaps"),
            ("projection (HTTP)", "/api/v1/forces/projection"),
        ):

            def call(path: str = path) -> object:
                r = http.get(path)
                r.raise_for_status()
                return r

            out.append((name, label, *timed(call, runs)))
    server.should_exit = True
    thread.join(timeout=10)
    platform.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"machine: {host.node()} {os.cpu_count()} cores, Python {host.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"data: {N_STATES} states, {N_PLEDGES} pledges, {N_REQUIREMENTS} requirements; "
        f"{args.runs} runs after one warm-up"
    )
    results = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as home:
                results += bench_backend(
                    "SQLite", Settings(home=Path(home), secret_key=SECRET), args.runs
                )
        else:
            db = f"cmcc_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db}"')
            try:
                url = (
                    PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                    + "/"
                    + db
                )
                results += bench_backend(
                    "PostgreSQL", Settings(database_url=url, secret_key=SECRET), args.runs
                )
            finally:
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    print(f"\n{'backend':<11} {'report':<24} {'median ms':>10} {'p95 ms':>8}  target 200 ms")
    for backend, label, median, p95 in results:
        verdict = "met" if p95 < 200 else "MISSED"
        print(f"{backend:<11} {label:<24} {median:>10.1f} {p95:>8.1f}  {verdict}")


if __name__ == "__main__":
    main()
