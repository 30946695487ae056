"""Command and control at scale: an ORBAT of 5,000 nodes, some in several versions.

Times, on SQLite and on PostgreSQL:
- the whole tree as of a date, in the service (`readout.orbat_records` + `orbat_tree`) and
  through the HTTP API (`GET /api/v1/orbat?as_of=...`, uvicorn on loopback, token auth, JSON);
- a task's acceptance checks (authority through the chain of parents, caveats in every zone
  kind the task's area touches, readiness, the deployment phase), in the service
  (`tasking.check_task`) and through `POST /api/v1/tasks/check`.
Prints medians and p95 with the machine's conditions; asserts nothing. Targets (issue 13): the
tree p95 under 50 ms from the API, the checks p95 under 20 ms.

    .venv/bin/python bench/command_bench.py [--runs 50] [--backends sqlite,postgresql]
    .venv/bin/python bench/command_bench.py --profile tree   # cProfile of the API's tree read

The force: a force headquarters, 5 sector headquarters, 30 national contingents (each from a
pledge, under a sector's OPCON), and battalions of 4 companies of 4 platoons until 5,000 nodes;
one battalion or company in ten has 2 or 3 versions (strength changed, then moved). Loaded
with bulk inserts into a scratch database (this measures the reads, not the loading); the
zones (5 sectors, the area under Israeli control) and the phase go through their services.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform as host
import pstats
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import insert, select, update

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import Organization
from cmcc.access.service import add_user, create_token, upsert_organization
from cmcc.api.app import create_app
from cmcc.bootstrap import Platform, bootstrap
from cmcc.command import areas, readout, tasking, tree_json
from cmcc.command.domain import ECHELON_ORDER, Echelon, UnitKind, default_sidc
from cmcc.command.models import AreaAssignment, CommandRelationship, Unit
from cmcc.command.schemas import PhaseCreate, TaskCreate
from cmcc.config import Settings
from cmcc.core.releasability import Marking
from cmcc.forces.models import Pledge, State
from cmcc.initialize import initialize
from cmcc.zones import service as zones
from cmcc.zones.schemas import ZoneCreate
from forces_bench import free_port  # bench/ is the script's folder: on sys.path
from scratch import scratch_postgres

SECRET = "bench-secret-" + "x" * 32
N_NODES, N_SECTORS, N_CONTINGENTS = 5000, 5, 30
NATIONS = ["IDN", "MAR", "KAZ", "ALB", "EGY", "JOR", "ITA", "PAK", "BGD", "XKX"]
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
AS_OF = "2026-09-01T00:00:00Z"
CAPS = ["infantry_battalion", "engineers", "medical_level_2", "logistics", "military_police"]


def _marking(text: str) -> dict[str, Any]:
    marking = Marking.parse(text)
    return {"releasability": marking.kind.value, "release_to": marking.stored_list}


def _box(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


class Force:
    """What the timed calls need to know of the loaded force."""

    platoon: int = 0  # a platoon deep in the tree (6 levels below the force HQ)
    sector: int = 0  # the sector HQ holding OPCON over the platoon's contingent
    sector_zone: int = 0
    versions: int = 0  # units with more than one version


def load(platform: Platform, rng: random.Random) -> Force:
    initialize(platform)
    force = Force()
    operator = Principal.system_operator()
    with platform.unit_of_work(operator, write=True) as s:
        for code in NATIONS:
            upsert_organization(s, code, code, OrgKind.NATION)
        orgs = {o.code: o.id for o in s.scalars(select(Organization))}
        cmcc = orgs["CMCC"]
        me = Principal.system_operator(cmcc, "CMCC")
        aoi = platform.settings.aoi_bbox
        idf = zones.create_zone(
            s,
            me,
            ZoneCreate(
                name="Area under IDF control",
                kind="area_under_idf_control",
                geometry=_box(34.22, 31.22, 0.34, 0.36),
                valid_from=dt.datetime(2025, 10, 10, tzinfo=dt.UTC),
            ),
            aoi=aoi,
            fence=None,
        )
        sector_zones = [
            zones.create_zone(
                s,
                me,
                ZoneCreate(
                    name=f"Sector {i + 1}",
                    kind="isf_sector",
                    geometry=_box(34.25 + 0.05 * i, 31.25 + 0.06 * i, 0.04, 0.05),
                    valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                ),
                aoi=aoi,
                fence=None,
            )
            for i in range(N_SECTORS)
        ]
        assert idf.id
        areas.create_phase(
            s,
            me,
            PhaseCreate(
                number=1,
                name="Phase 1",
                starts_on=dt.date(2026, 1, 1),
                zone_kinds=["area_under_idf_control"],
            ),
        )
        states = {st.iso3: st.id for st in s.scalars(select(State).where(State.iso3.in_(NATIONS)))}
        pledges = []
        for i in range(N_CONTINGENTS):
            nation = NATIONS[i % len(NATIONS)]
            pledges.append(
                {
                    "ref": f"BENCH-{i}",
                    "state_id": states[nation],
                    "capability": CAPS[i % len(CAPS)],
                    "units": 8,
                    "strength": 4000,
                    "equipment": "",
                    "readiness": "level_3",
                    "registered_on": dt.date(2025, 12, 1),
                    "renewal_due": dt.date(2026, 12, 1),
                    "deployed_on": dt.date(2026, 2, 1),
                    "tour_months": 12,
                    "caveats": {"forbidden_tasks": ["offensive_operations"]},
                    "owner_org_id": orgs[nation],
                    **_marking("mission"),
                    "version": 1,
                    "notes": "",
                    "source": "",
                }
            )
        s.execute(insert(Pledge), pledges)
        pledge_ids = list(s.scalars(select(Pledge.id).where(Pledge.ref.like("BENCH-%"))))

        def node(
            name: str,
            kind: UnitKind,
            echelon: Echelon,
            parent: int | None,
            owner: int,
            nation: str = "",
            pledge: int | None = None,
            strength: int = 0,
        ) -> int:
            cap = CAPS[len(name) % len(CAPS)] if kind is UnitKind.UNIT else None
            row = {
                "name": name,
                "short_name": name[:40],
                "nation": nation,
                "kind": kind.value,
                "echelon": echelon.value,
                "sidc": default_sidc(kind, echelon, cap),
                "capability": cap,
                "strength_authorized": strength,
                "strength_assigned": strength,
                "strength_present": int(strength * 0.9),
                "location": "",
                "lon": 34.3 + rng.random() * 0.2,
                "lat": 31.3 + rng.random() * 0.2,
                "parent_lineage": parent,
                "pledge_id": pledge,
                "valid_from": T0,
                "illustrative": True,
                "source": "bench",
                "owner_org_id": owner,
                **_marking(rng.choice(["mission"] * 8 + ["rel:CMCC,IDN", "owner"])),
                "version": 1,
            }
            if kind is UnitKind.HEADQUARTERS:
                row |= _marking("mission")
            unit_id = s.execute(insert(Unit).returning(Unit.id), [row]).scalar_one()
            return int(unit_id)

        count = 0

        def add(*args: Any, **kwargs: Any) -> int:
            nonlocal count
            count += 1
            return node(*args, **kwargs)

        fhq = add("Force HQ", UnitKind.HEADQUARTERS, Echelon.CORPS, None, cmcc)
        sectors = [
            add(f"Sector {i + 1} HQ", UnitKind.HEADQUARTERS, Echelon.DIVISION, fhq, cmcc)
            for i in range(N_SECTORS)
        ]
        contingents = []
        for i in range(N_CONTINGENTS):
            nation = NATIONS[i % len(NATIONS)]
            contingents.append(
                add(
                    f"{nation} contingent {i}",
                    UnitKind.CONTINGENT,
                    Echelon.BRIGADE,
                    sectors[i % N_SECTORS],
                    orgs[nation],
                    nation,
                    pledge_ids[i],
                )
            )
        s.execute(
            insert(CommandRelationship),
            [
                {
                    "unit_lineage": c,
                    "hq_lineage": sectors[i % N_SECTORS],
                    "kind": "opcon",
                    "status": "effective",
                    "effective_from": T0,
                    "proposed_by": "bench",
                    "agreed_by": "bench",
                    "agreed_at": T0,
                    "owner_org_id": cmcc,
                    **_marking("mission"),
                    "version": 1,
                    "notes": "",
                }
                for i, c in enumerate(contingents)
            ],
        )
        s.execute(
            insert(AreaAssignment),
            [
                {
                    "hq_lineage": sectors[i],
                    "zone_lineage": sector_zones[i].id,
                    "valid_from": T0,
                    "owner_org_id": cmcc,
                    **_marking("mission"),
                    "version": 1,
                    "notes": "",
                }
                for i in range(N_SECTORS)
            ],
        )
        versioned: list[int] = []
        b = 0
        while count < N_NODES:
            c = contingents[b % N_CONTINGENTS]
            nation = NATIONS[(b % N_CONTINGENTS) % len(NATIONS)]
            owner = orgs[nation]
            bn = add(
                f"{nation} battalion {b}",
                UnitKind.UNIT,
                Echelon.BATTALION,
                c,
                owner,
                nation,
                strength=40,
            )
            if rng.random() < 0.1:
                versioned.append(bn)
            for k in range(4):
                if count >= N_NODES:
                    break
                coy = add(
                    f"{nation} coy {b}.{k}",
                    UnitKind.UNIT,
                    Echelon.COMPANY,
                    bn,
                    owner,
                    nation,
                    strength=20,
                )
                if rng.random() < 0.1:
                    versioned.append(coy)
                for p in range(4):
                    if count >= N_NODES:
                        break
                    pl = add(
                        f"{nation} pl {b}.{k}.{p}",
                        UnitKind.UNIT,
                        Echelon.PLATOON,
                        coy,
                        owner,
                        nation,
                        strength=30,
                    )
                    if not force.platoon and b % N_CONTINGENTS == 0:
                        force.platoon, force.sector = pl, sectors[0]
                        force.sector_zone = sector_zones[0].id
            b += 1
        # Later versions: strength changed on 1 May, some moved to another contingent on 1 July.
        for lineage in versioned:
            first = s.get_one(Unit, lineage)
            moments = [dt.datetime(2026, 5, 1, tzinfo=dt.UTC)]
            if rng.random() < 0.5:
                moments.append(dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
            previous = first
            for j, moment in enumerate(moments):
                s.execute(update(Unit).where(Unit.id == previous.id).values(valid_to=moment))
                row = {
                    c.key: getattr(first, c.key)
                    for c in Unit.__table__.columns
                    if c.key not in {"id", "created_at", "updated_at"}
                }
                row |= {"lineage": lineage, "valid_from": moment, "valid_to": None}
                row["strength_present"] = max(0, first.strength_present - 5 * (j + 1))
                if j == 1 and first.echelon == Echelon.COMPANY.value:
                    row["parent_lineage"] = rng.choice(contingents)
                new_id = s.execute(insert(Unit).returning(Unit.id), [row]).scalar_one()
                previous = s.get_one(Unit, new_id)
        force.versions = len(versioned)
    with platform.engine.begin() as conn:  # statistics, as a running database has them
        conn.exec_driver_sql("ANALYZE")
    return force


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """Median and p95 of the wall time, and the median CPU time of this process (the HTTP
    server runs in it too; PostgreSQL's own work is not in it): on a shared machine the CPU
    time says what the call costs when the wall time also says how long it waited."""
    fn()  # warm caches and connections
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    wall.sort()
    return statistics.median(wall), wall[int(0.95 * (len(wall) - 1))], statistics.median(cpu)


@contextmanager
def server(platform: Platform) -> Iterator[str]:
    port = free_port()
    app = create_app(platform)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


def task_body(force: Force) -> dict[str, Any]:
    return {
        "title": "Patrol the sector",
        "task": "protection_of_civilians",
        "unit": force.platoon,
        "issuer": force.sector,
        "zone": force.sector_zone,
        "starts_at": "2026-09-01T06:00:00Z",
        "ends_at": "2026-09-02T06:00:00Z",
    }


Result = tuple[str, str, float, float, float, float]


def bench_backend(name: str, settings: Settings, runs: int, profile: str | None) -> list[Result]:
    platform = bootstrap(settings)
    t0 = time.perf_counter()
    force = load(platform, random.Random(2026))
    print(
        f"{name}: loaded in {time.perf_counter() - t0:.1f} s ({force.versions} units in versions)"
    )
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        staff = add_user(s, f"bench-{uuid.uuid4().hex[:6]}", "CMCC", Role.STAFF_OFFICER)
        token = create_token(s, staff, SECRET)
        cmcc = s.scalars(select(Organization).where(Organization.code == "CMCC")).one()
        who = Principal(staff.id, staff.username, cmcc.id, "CMCC", True, Role.STAFF_OFFICER)
    as_of = dt.datetime.fromisoformat(AS_OF)
    body = TaskCreate.model_validate(task_body(force))

    def tree() -> object:
        with platform.unit_of_work(who) as s:
            return readout.orbat_tree(readout.orbat_records(s, who.viewer, as_of))

    def tree_single_query() -> object:
        with platform.unit_of_work(who) as s:
            return tree_json.orbat_json(s, who.viewer, as_of)

    def checks() -> object:
        with platform.unit_of_work(who) as s:
            reasons = tasking.check_task(s, who, body)
            assert not reasons, reasons
            return reasons

    with platform.unit_of_work(who) as s:
        nodes = len(readout.orbat_records(s, who.viewer, as_of))
    out: list[Result] = [
        (name, f"ORBAT tree, {nodes} nodes (records)", *timed(tree, runs), 50),
        (name, "ORBAT tree, JSON by the database", *timed(tree_single_query, runs), 50),
        (name, "task acceptance checks (service)", *timed(checks, runs), 20),
    ]
    with (
        server(platform) as base,
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http,
    ):

        def get_tree() -> object:
            r = http.get("/api/v1/orbat", params={"as_of": AS_OF})
            r.raise_for_status()
            return r

        def post_check() -> object:
            r = http.post("/api/v1/tasks/check", json=task_body(force))
            r.raise_for_status()
            assert r.json() == [], r.text
            return r

        size = len(get_tree().content)  # type: ignore[attr-defined]
        out.append((name, f"ORBAT tree (HTTP, {size // 1024} KiB)", *timed(get_tree, runs), 50))
        out.append((name, "task acceptance checks (HTTP)", *timed(post_check, runs), 20))
        if profile:
            fn = {"tree": get_tree, "checks": post_check}[profile]
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(10):
                fn()
            prof.disable()
            # The server runs in this process: its frames are in the profile too.
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    platform.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--profile", choices=["tree", "checks"], default=None)
    args = parser.parse_args()
    load1, load5, _ = os.getloadavg()
    print(
        f"machine: {host.node()} {os.cpu_count()} cores, Python {host.python_version()}, "
        f"load average {load1:.2f} (1 min) {load5:.2f} (5 min)"
    )
    print(
        f"data: {N_NODES} ORBAT nodes ({len(ECHELON_ORDER)} echelons known; force HQ, "
        f"{N_SECTORS} sectors, {N_CONTINGENTS} contingents, battalions, companies, platoons); "
        f"{args.runs} runs after one warm-up"
    )
    results: list[Result] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as home:
                settings = Settings(home=Path(home), secret_key=SECRET)
                results += bench_backend("SQLite", settings, args.runs, args.profile)
        else:
            with scratch_postgres() as url:
                settings = Settings(database_url=url, secret_key=SECRET)
                results += bench_backend("PostgreSQL", settings, args.runs, args.profile)
    print(f"\n{'backend':<11} {'what':<38} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>7}  target")
    for backend, label, median, p95, cpu, target in results:
        verdict = "met" if p95 < target else "MISSED"
        print(
            f"{backend:<11} {label:<38} {median:>10.1f} {p95:>8.1f} {cpu:>7.1f}  "
            f"p95 < {target} ms {verdict}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
