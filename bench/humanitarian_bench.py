"""Deconfliction advisories at scale: 10,000 active notified sites and 2,000 active movements
over the Gaza Strip, on SQLite and on PostgreSQL.

The picture around them is the demo's, larger: 300 zones (60 restricted areas, the notional
area under IDF control, sectors, safe zones, ...) and the 12,000 zones derived from the
notifications, 300 open hazard areas (and 60 closed), 30,000 incidents over a year (a tenth
verified), 300 open tasks of the force (a third in an area, the others at a point).

Times, through the services, as a partner and as the centre:
(a) a new movement: `notifications.submit` (its zone, its contact, its advisories, the audit)
    and `advisories.compute` alone, p95 over the runs; target p95 under 50 ms;
(b) a restricted area drawn across a busy part of the Strip: the wall time of the zone's
    transaction (`zones.create_zone`, which re-checks every active notification near it, and
    the commit); target under 1 s; and a hazard area closed (its advisories go).
Prints medians and p95 with the machine's load average; asserts nothing.

    .venv/bin/python bench/humanitarian_bench.py [--runs 50] [--backends sqlite,postgresql]
    .venv/bin/python bench/humanitarian_bench.py --profile submit|compute|zone

Loading: the records are bulk-inserted with SQLAlchemy core into a scratch database (this
measures the checks, not the loading); the advisories of the loaded notifications are then made
by the same re-check the services run after a change (one `picture_changed` per restricted
area, hazard, verified recent incident and task), so the table holds what it would in use.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import math
import os
import platform as host
import pstats
import random
import statistics
import tempfile
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, insert, select

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.models import Organization
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.command.models import UnitTask
from cmcc.config import Settings
from cmcc.core.changes import picture_changed
from cmcc.geo.measure import buffer_m
from cmcc.hazards import service as hazards
from cmcc.hazards.models import HazardArea
from cmcc.hazards.schemas import StatusChangeCreate
from cmcc.humanitarian import advisories, notifications
from cmcc.humanitarian.models import Advisory, Notification, NotificationContact
from cmcc.humanitarian.rules import Rules
from cmcc.humanitarian.schemas import NotificationCreate
from cmcc.incidents.models import Incident
from cmcc.initialize import initialize
from cmcc.zones import service as zones
from cmcc.zones.models import Zone
from cmcc.zones.schemas import ZoneCreate
from scratch import scratch_postgres

SECRET = "bench-secret-" + "x" * 32
N_SITES, N_MOVEMENTS = 10_000, 2_000
N_ZONES, N_RESTRICTED, N_HAZARDS, N_CLOSED_HAZARDS = 300, 60, 300, 60
N_INCIDENTS, N_TASKS = 30_000, 300
PARTNERS = ("OCHA", "UNRWA", "PRCS", "UNMAS", "WFP", "UNICEF", "WHO", "MSF")
CROSSINGS = [(34.2706, 31.2208), (34.3994, 31.3742), (34.5217, 31.6078), (34.5447, 31.5582)]
M_PER_DEG = 111_320.0
# A busy part of the Strip: a block of about 2.5 x 2 km in Gaza City (the re-check's target).
BUSY = (34.435, 31.500, 34.462, 31.518)


def the_strip() -> BaseGeometry:
    text = resources.files("cmcc.scenarios").joinpath("gaza-2025/zones.geojson").read_text()
    for feature in json.loads(text)["features"]:
        if feature["properties"]["kind"] == "gaza_strip":
            return shape(feature["geometry"])
    raise LookupError("no gaza_strip zone in the scenario")


class Scatter:
    """Random places in the Strip (points drawn in its box, kept when inside)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.strip = the_strip()
        shapely.prepare(self.strip)
        self.box = self.strip.bounds

    def point(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        while True:
            x, y = self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)
            if shapely.contains_xy(self.strip, x, y):
                return x, y

    def square(self, metres: float, at: tuple[float, float] | None = None) -> BaseGeometry:
        x, y = at or self.point()
        dx = metres / 2 / (M_PER_DEG * math.cos(math.radians(y)))
        dy = metres / 2 / M_PER_DEG
        return shapely.box(x - dx, y - dy, x + dx, y + dy)

    def route(self) -> BaseGeometry:
        """3 to 6 vertices, from a crossing (half of them) or a place in the Strip, 3-15 km."""
        start = self.rng.choice(CROSSINGS) if self.rng.random() < 0.5 else self.point()
        end = self.point()
        steps = self.rng.randint(2, 5)
        coords = [start]
        for i in range(1, steps):
            t = i / steps
            jitter = 0.004
            coords.append(
                (
                    start[0] + (end[0] - start[0]) * t + self.rng.uniform(-jitter, jitter),
                    start[1] + (end[1] - start[1]) * t + self.rng.uniform(-jitter, jitter),
                )
            )
        coords.append(end)
        return shapely.LineString(coords)


def spatial(geom: BaseGeometry) -> dict[str, Any]:
    x0, y0, x1, y1 = geom.bounds
    return {"geom_wkb": shapely.to_wkb(geom), "min_x": x0, "min_y": y0, "max_x": x1, "max_y": y1}


def marked(owner: int, text: str = "mission") -> dict[str, Any]:
    if text.startswith("rel:"):
        return {"owner_org_id": owner, "releasability": "rel", "release_to": "|" + text[4:] + "|"}
    return {"owner_org_id": owner, "releasability": text, "release_to": None}


class Loaded:
    """What the timed calls need to know of the loaded picture."""

    orgs: dict[str, int]
    advisories: int = 0
    seconds: float = 0.0
    recheck_seconds: float = 0.0


def load(platform: Platform, rng: random.Random) -> Loaded:
    t0 = time.perf_counter()
    initialize(platform)
    out = Loaded()
    with platform.unit_of_work(Principal.system_operator()) as s:
        if s.scalar(select(func.count()).select_from(Notification)):  # kept (--sqlite-home)
            out.orgs = {o.code: o.id for o in s.scalars(select(Organization))}
            out.advisories = s.scalar(select(func.count()).select_from(Advisory)) or 0
            return out
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        upsert_organization(s, "ISF-HQ", "ISF HQ", OrgKind.ISF_HQ)
        upsert_organization(
            s, "COGAT", "COGAT liaison cell", OrgKind.PARTY_LIAISON, is_member=False
        )
        for code in PARTNERS:
            upsert_organization(s, code, code, OrgKind.UN_AGENCY)
        out.orgs = {o.code: o.id for o in s.scalars(select(Organization))}
    cmcc, isf = out.orgs["CMCC"], out.orgs["ISF-HQ"]
    place = Scatter(rng)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    year_ago = now - dt.timedelta(days=365)
    shared = "rel:CMCC|COGAT|ISF-HQ"
    with platform.engine.begin() as conn:
        # Zones: the notional area under IDF control (from the scenario), restricted areas,
        # sectors, safe zones, cleared and administrative areas.
        text = resources.files("cmcc.scenarios").joinpath("gaza-2025/zones.geojson").read_text()
        idf = next(
            shape(f["geometry"])
            for f in json.loads(text)["features"]
            if f["properties"]["kind"] == "area_under_idf_control"
        )
        rows = [
            {
                "name": "Area under IDF control (notional)",
                "kind": "area_under_idf_control",
                "valid_from": year_ago,
                **spatial(idf),
                **marked(cmcc, "public"),
            }
        ]
        others = ["isf_sector", "civilian_safe_zone", "cleared_area", "administrative_area"]
        for i in range(N_ZONES - 1):
            kind = "restricted_area" if i < N_RESTRICTED else others[i % len(others)]
            size = rng.uniform(200, 1500) if kind == "restricted_area" else rng.uniform(300, 4000)
            rows.append(
                {
                    "name": f"{kind} {i}",
                    "kind": kind,
                    "valid_from": year_ago + dt.timedelta(days=rng.randint(0, 300)),
                    "valid_to": now + dt.timedelta(days=rng.randint(1, 90))
                    if rng.random() < 0.3
                    else None,
                    **spatial(place.square(size)),
                    **marked(cmcc, rng.choice(["mission", "mission", "owner", shared])),
                }
            )
        conn.execute(insert(Zone), rows)
        sectors = list(conn.execute(select(Zone.id).where(Zone.kind == "isf_sector")).scalars())
        # Hazard areas: open, and some closed.
        conn.execute(
            insert(HazardArea),
            [
                {
                    "name": f"hazard {i}",
                    "classification": "cha" if i % 3 == 0 else "sha",
                    "status": "open" if i < N_HAZARDS else "closed",
                    "device_category": "uxo",
                    "area_m2": 10_000,
                    **spatial(place.square(rng.uniform(30, 300))),
                    **marked(out.orgs["UNMAS"], rng.choice(["mission", "owner"])),
                }
                for i in range(N_HAZARDS + N_CLOSED_HAZARDS)
            ],
        )
        # Incidents over a year, a tenth verified.
        rows = []
        for i in range(N_INCIDENTS):
            occurred = year_ago + dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
            rows.append(
                {
                    "type": "ceasefire_violation_fire",
                    "occurred_at": occurred,
                    "reported_at": occurred + dt.timedelta(minutes=30),
                    "severity": rng.randint(1, 5),
                    "status": "verified" if i % 10 == 0 else "reported",
                    **spatial(shapely.Point(place.point())),
                    **marked(isf, rng.choice(["mission", "owner"])),
                }
            )
        conn.execute(insert(Incident), rows)
        # Open tasks of the force around now: a third in a sector, the others at a point.
        rows = []
        for i in range(N_TASKS):
            starts = now + dt.timedelta(hours=rng.uniform(-72, 240))
            x, y = place.point()
            in_area = i % 3 == 0
            rows.append(
                {
                    "title": f"task {i}",
                    "task": "protection_of_civilians",
                    "unit_lineage": 1,
                    "issuer_lineage": 1,
                    "zone_lineage": rng.choice(sectors) if in_area else None,
                    "lon": None if in_area else x,
                    "lat": None if in_area else y,
                    "starts_at": starts,
                    "ends_at": starts + dt.timedelta(hours=rng.uniform(6, 96)),
                    "status": rng.choice(["issued", "acknowledged", "in_progress"]),
                    "issued_by": "bench",
                    **marked(isf),
                }
            )
        conn.execute(insert(UnitTask), rows)
        # The notifications, each with its derived zone and its contact.
        notes = []
        for i in range(N_SITES + N_MOVEMENTS):
            partner = out.orgs[PARTNERS[i % len(PARTNERS)]]
            site = i < N_SITES
            if site:
                geom = (
                    place.square(rng.uniform(40, 200))
                    if rng.random() < 0.2
                    else shapely.Point(place.point())
                )
                start = now - dt.timedelta(days=rng.uniform(1, 90))
                end = None if rng.random() < 0.8 else now + dt.timedelta(days=rng.uniform(5, 90))
                buffer = 300.0
            else:
                geom = place.route()
                start = now + dt.timedelta(hours=rng.uniform(-6, 240))
                end = start + dt.timedelta(hours=rng.uniform(4, 12))
                buffer = 500.0
            status = rng.choice(["submitted", "acknowledged", "shared", "shared"])
            notes.append((i, site, geom, start, end, buffer, status, partner))
        zone_rows = [
            {
                "name": f"notification {i}",
                "kind": "notified_humanitarian_site" if site else "notified_movement",
                "valid_from": start,
                "valid_to": end,
                "derived_from": f"humanitarian_notifications:{i + 1}",
                **spatial(buffer_m(geom, buffer)),
                **marked(partner, shared if status == "shared" else "rel:CMCC"),
            }
            for i, site, geom, start, end, buffer, status, partner in notes
        ]
        zone_ids = conn.execute(insert(Zone).returning(Zone.id), zone_rows).scalars().all()
        rows = [
            {
                "kind": "site" if site else "movement",
                "title": f"{'site' if site else 'movement'} {i}",
                "site_type": "health" if site else None,
                "movement_type": None if site else "convoy",
                "valid_from": start,
                "valid_to": end,
                "vehicles": None if site else 10,
                "cargo_category": None if site else "food",
                "buffer_m": buffer,
                "status": status,
                "status_at": now,
                "status_by": "bench",
                "audiences": ["force", "COGAT"] if status == "shared" else [],
                "zone_id": zone_id,
                "submitted_by": "bench",
                **spatial(geom),
                **marked(partner, shared if status == "shared" else "rel:CMCC"),
            }
            for (i, site, geom, start, end, buffer, status, partner), zone_id in zip(
                notes, zone_ids, strict=True
            )
        ]
        note_ids = conn.execute(insert(Notification).returning(Notification.id), rows).scalars()
        conn.execute(
            insert(NotificationContact),
            [
                {
                    "notification_lineage": nid,
                    "name": "Duty officer",
                    "phone": "+970 59 000 0000",
                    **marked(row["owner_org_id"], "rel:CMCC"),
                }
                for nid, row in zip(note_ids.all(), rows, strict=True)
            ],
        )
    analyze(platform)
    # The advisories of what is loaded, made by the re-check the services run after a change.
    t1 = time.perf_counter()
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        sources: list[tuple[str, Any]] = [
            (
                "zone",
                select(Zone.id).where(Zone.kind.in_([k.value for k in advisories.ZONE_KINDS])),
            ),
            ("hazard", select(HazardArea.id).where(HazardArea.status == "open")),
            (
                "incident",
                select(Incident.id).where(
                    Incident.status == "verified",
                    Incident.occurred_at > now - dt.timedelta(days=100),
                ),
            ),
            ("task", select(UnitTask.id)),
        ]
        for source, stmt in sources:
            for record_id in s.scalars(stmt).all():
                picture_changed(s, source, record_id)
        out.advisories = s.scalar(select(func.count()).select_from(Advisory)) or 0
    out.recheck_seconds = time.perf_counter() - t1
    analyze(platform)
    out.seconds = time.perf_counter() - t0
    return out


def analyze(platform: Platform) -> None:
    with platform.engine.begin() as conn:  # statistics, as a running database has them
        conn.exec_driver_sql("ANALYZE")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def movement_body(rng: random.Random, place: Scatter) -> NotificationCreate:
    start = dt.datetime.now(dt.UTC) + dt.timedelta(hours=rng.uniform(48, 120))
    return NotificationCreate.model_validate(
        {
            "kind": "movement",
            "title": f"bench convoy {uuid.uuid4().hex[:8]}",
            "movement_type": "convoy",
            "geometry": shapely.geometry.mapping(place.route()),
            "valid_from": start,
            "valid_to": start + dt.timedelta(hours=8),
            "vehicles": 20,
            "cargo_category": "food",
            "personnel_count": 12,
            "contact": {"name": "Duty officer", "phone": "+970 59 000 0000"},
        }
    )


Result = tuple[str, str, float, float, str]


def bench_backend(name: str, settings: Settings, runs: int, profile: str | None) -> list[Result]:
    platform = bootstrap(settings)
    rng = random.Random(2025)
    loaded = load(platform, rng)
    print(
        f"{name}: loaded in {loaded.seconds:.0f} s ({loaded.advisories:,} advisories made by "
        f"the re-check after each restricted area, hazard, recent verified incident and task: "
        f"{loaded.recheck_seconds:.0f} s)"
    )
    rules = Rules.of(settings)
    place = Scatter(random.Random(7))
    partner = Principal(
        None, "bench-wfp", loaded.orgs["WFP"], "WFP", True, Role.HUMANITARIAN_PARTNER
    )
    centre = Principal(None, "bench-staff", loaded.orgs["CMCC"], "CMCC", True, Role.STAFF_OFFICER)
    mine = Principal(
        None, "bench-mine", loaded.orgs["UNMAS"], "UNMAS", True, Role.MINE_ACTION_OFFICER
    )
    fence = platform.fence()  # built once, as a running server has it
    out: list[Result] = []

    # (a) A new movement.
    submit_ms, uow_ms, found = [], [], []
    created: list[int] = []
    for i in range(runs + 1):
        body = movement_body(rng, place)
        t0 = time.perf_counter()
        with platform.unit_of_work(partner, write=True) as s:
            t1 = time.perf_counter()
            n = notifications.submit(s, partner, body, rules=rules, fence=fence)
            t2 = time.perf_counter()
            found.append(notifications.advisory_counts(s, [n.id]).get(n.id, 0))
            created.append(n.id)
        t3 = time.perf_counter()
        if i:  # the first warms caches and connections
            submit_ms.append((t2 - t1) * 1000)
            uow_ms.append((t3 - t0) * 1000)
    median, p95 = percentiles(submit_ms)
    advised = statistics.mean(found)
    out.append((name, f"submit a movement ({advised:.1f} advisories)", median, p95, "p95 < 50 ms"))
    median, p95 = percentiles(uow_ms)
    out.append((name, "  the same, whole transaction (commit)", median, p95, ""))
    compute_ms = []
    with platform.unit_of_work(centre) as s:
        notes = [s.get_one(Notification, nid) for nid in created]
        advisories.compute(s, notes[0], rules)
        for n in notes[1:]:
            t0 = time.perf_counter()
            advisories.compute(s, n, rules)
            compute_ms.append((time.perf_counter() - t0) * 1000)
    median, p95 = percentiles(compute_ms)
    out.append((name, "advisories.compute alone", median, p95, "p95 < 50 ms"))

    # (b) A restricted area drawn across a busy part of the Strip, then a hazard closed.
    zone_runs = []
    for i in range(5):
        x0, y0, x1, y1 = BUSY
        dx, dy = 0.004 * i, -0.003 * i
        body = ZoneCreate(
            name=f"closed military area {i}",
            kind="restricted_area",
            geometry=shapely.geometry.mapping(shapely.box(x0 + dx, y0 + dy, x1 + dx, y1 + dy)),
            valid_from=dt.datetime.now(dt.UTC),
        )
        with platform.unit_of_work(Principal.system_operator()) as s:
            before = s.scalar(select(func.count()).select_from(Advisory)) or 0
        t0 = time.perf_counter()
        with platform.unit_of_work(centre, write=True) as s:
            zones.create_zone(s, centre, body, aoi=settings.aoi_bbox, fence=fence)
        seconds = time.perf_counter() - t0
        with platform.unit_of_work(Principal.system_operator()) as s:
            after = s.scalar(select(func.count()).select_from(Advisory)) or 0
        zone_runs.append((seconds * 1000, after - before))
    times = [ms for ms, _ in zone_runs]
    made = statistics.mean(n for _, n in zone_runs)
    out.append(
        (
            name,
            f"restricted area drawn ({made:.0f} advisories)",
            statistics.median(times),
            max(times),
            "< 1000 ms",
        )
    )
    with platform.unit_of_work(Principal.system_operator()) as s:
        busiest = s.execute(
            select(Advisory.hazard_id, func.count())
            .where(Advisory.hazard_id.is_not(None))
            .group_by(Advisory.hazard_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        hazard = s.get_one(HazardArea, busiest[0])
        version = hazard.version
    t0 = time.perf_counter()
    with platform.unit_of_work(mine, write=True) as s:
        hazards.change_status(
            s,
            mine,
            busiest[0],
            StatusChangeCreate(to="closed", reason="cleared (bench)", version=version),
            aoi=settings.aoi_bbox,
            fence=fence,
        )
    ms = (time.perf_counter() - t0) * 1000
    out.append((name, f"hazard closed ({busiest[1]} advisories go)", ms, ms, "< 1000 ms"))

    if profile:
        prof = cProfile.Profile()
        if profile == "zone":
            body = ZoneCreate(
                name="profiled area",
                kind="restricted_area",
                geometry=shapely.geometry.mapping(shapely.box(*BUSY)),
                valid_from=dt.datetime.now(dt.UTC),
            )
            prof.enable()
            with platform.unit_of_work(centre, write=True) as s:
                zones.create_zone(s, centre, body, aoi=settings.aoi_bbox, fence=fence)
            prof.disable()
        else:
            prof.enable()
            for _ in range(20):
                with platform.unit_of_work(partner, write=True) as s:
                    if profile == "submit":
                        notifications.submit(
                            s, partner, movement_body(rng, place), rules=rules, fence=fence
                        )
                    else:
                        n = s.get_one(Notification, created[-1])
                        advisories.compute(s, n, rules)
            prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    platform.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--profile", choices=["submit", "compute", "zone"], default=None)
    parser.add_argument(
        "--sqlite-home",
        type=Path,
        default=None,
        help="keep the SQLite database in this folder, and use it again if it is loaded",
    )
    args = parser.parse_args()
    load1, load5, _ = os.getloadavg()
    print(
        f"machine: {host.node()} {os.cpu_count()} cores, Python {host.python_version()}, "
        f"load average {load1:.2f} (1 min) {load5:.2f} (5 min)"
    )
    print(
        f"data: {N_SITES:,} active sites, {N_MOVEMENTS:,} active movements, {N_ZONES} zones "
        f"({N_RESTRICTED} restricted areas), {N_HAZARDS} open hazards, {N_INCIDENTS:,} "
        f"incidents, {N_TASKS} tasks; {args.runs} runs after one warm-up"
    )
    results: list[Result] = []
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as scratch:
                home = args.sqlite_home or Path(scratch)
                settings = Settings(home=home, secret_key=SECRET)
                results += bench_backend("SQLite", settings, args.runs, args.profile)
        else:
            with scratch_postgres() as url:
                settings = Settings(database_url=url, secret_key=SECRET)
                results += bench_backend("PostgreSQL", settings, args.runs, args.profile)
    print("\n(b) runs: 5 areas drawn (the p95 column is the slowest), 1 hazard closed")
    print(f"{'backend':<11} {'what':<46} {'median ms':>10} {'p95 ms':>8}  target")
    for backend, label, median, p95, target in results:
        print(f"{backend:<11} {label:<46} {median:>10.1f} {p95:>8.1f}  {target}")
    load1, load5, _ = os.getloadavg()
    print(f"load average after: {load1:.2f} (1 min) {load5:.2f} (5 min)")


if __name__ == "__main__":
    main()
