"""Humanitarian exchange and TAK at scale: 10,000 notified sites and 2,000 active movements
(the issue's load) in a scratch SQLite database. Prints figures, asserts nothing:

- the CSV and HXL (3W) exports of every notification, as the centre (all of them, contacts
  included) and as the force (the shared half, no contacts);
- one TAK picture of the force (what a client gets on joining, and every half hour);
- the track-in-movement check of a batch of 1,000 unit positions against the 2,000 movement
  zones (the geofence, then the zones and alerts hit).

The rows are written through the ORM in one transaction (the services' advisories are the
advisory benchmark's business).

    .venv/bin/python bench/humanitarian_exchange_bench.py [--sites 10000] [--movements 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

import shapely
from shapely.geometry.base import BaseGeometry

from cmcc.access.domain import OrgKind, Principal, Role
from cmcc.access.service import upsert_organization
from cmcc.bootstrap import Platform, bootstrap
from cmcc.config import Settings
from cmcc.core.releasability import Marking, MarkingKind, Viewer
from cmcc.cot import outbound
from cmcc.cot.codec import make_event
from cmcc.cot.devices import DeviceInfo
from cmcc.cot.movement_alerts import track_in_movement
from cmcc.cot.task_alerts import Position
from cmcc.forces.domain import Caveats
from cmcc.geo.measure import buffer_m
from cmcc.humanitarian import exchange
from cmcc.humanitarian.models import Notification, NotificationContact
from cmcc.humanitarian.rules import Rules
from cmcc.initialize import initialize
from cmcc.zones.models import Zone
from cmcc.zones.service import load_fence

SECRET = "bench-secret-" + "x" * 32
LON0, LAT0, LON1, LAT1 = 34.25, 31.25, 34.50, 31.55
SITE_TYPES = ["health", "wash", "shelter", "food_distribution", "warehouse", "office"]


class Rollback(Exception):
    pass


def _load(platform: Platform, sites: int, movements: int, rng: random.Random) -> None:
    now = dt.datetime.now(dt.UTC)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        wfp = upsert_organization(s, "WFP", "World Food Programme", OrgKind.UN_AGENCY)
        upsert_organization(s, "ISF-HQ", "ISF headquarters", OrgKind.ISF_HQ)
        s.flush()
        shared = Marking(MarkingKind.REL, frozenset({"CMCC", "ISF-HQ"}))
        centre = Marking(MarkingKind.REL, frozenset({"CMCC"}))
        for i in range(sites + movements):
            site = i < sites
            lon, lat = rng.uniform(LON0, LON1), rng.uniform(LAT0, LAT1)
            route = [(lon, lat), (lon + 0.02, lat + 0.01), (lon + 0.03, lat)]
            geom: BaseGeometry = shapely.Point(lon, lat) if site else shapely.LineString(route)
            n = Notification(
                kind="site" if site else "movement",
                title=f"{'Site' if site else 'Convoy'} {i}",
                site_type=SITE_TYPES[i % len(SITE_TYPES)] if site else None,
                movement_type=None if site else "convoy",
                valid_from=now - dt.timedelta(hours=1),
                valid_to=None if site else now + dt.timedelta(hours=6),
                vehicles=None if site else 10,
                buffer_m=100.0 if site else 250.0,
                status="shared" if i % 2 == 0 else "submitted",
                status_at=now,
                status_by="bench",
                submitted_by="bench",
                audiences=["force"] if i % 2 == 0 else [],
                owner_org_id=wfp.id,
            )
            n.geometry = geom
            n.marking = shared if i % 2 == 0 else centre
            s.add(n)
            if not site:
                zone = Zone(
                    name=n.title,
                    kind="notified_movement",
                    valid_from=n.valid_from,
                    valid_to=n.valid_to,
                    owner_org_id=wfp.id,
                    derived_from=f"humanitarian_notifications:{i}",
                )
                zone.geometry = buffer_m(geom, 250.0)
                zone.marking = n.marking
                s.add(zone)
            if i % 1000 == 999:
                s.flush()
        s.flush()
        for n in s.query(Notification):
            c = NotificationContact(
                notification_lineage=n.id, owner_org_id=wfp.id, name=f"Contact {n.id}"
            )
            c.marking = centre
            s.add(c)


def _timed(label: str, run: object, repeats: int = 3) -> None:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        size = run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    print(f"{label:<58} median {statistics.median(times) * 1000:8.0f} ms  ({size})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sites", type=int, default=10_000)
    parser.add_argument("--movements", type=int, default=2_000)
    args = parser.parse_args()
    rng = random.Random(14)
    home = Path(tempfile.mkdtemp(prefix="cmcc-hexchange-"))
    platform = bootstrap(Settings(home=home, secret_key=SECRET, environment="test"))
    initialize(platform)
    start = time.perf_counter()
    _load(platform, args.sites, args.movements, rng)
    took = time.perf_counter() - start
    print(f"loaded {args.sites} sites, {args.movements} movements in {took:.1f} s")
    rules = Rules.of(platform.settings)
    with platform.unit_of_work(Principal.system_operator()) as s:
        orgs = {o.code: o for o in s.query(Notification.owner.property.mapper.class_)}
    centre = Principal.system_operator(orgs["CMCC"].id, "CMCC")
    force = Principal(None, "bench", orgs["ISF-HQ"].id, "ISF-HQ", True, Role.STAFF_OFFICER)
    force_viewer = Viewer(orgs["ISF-HQ"].id, "ISF-HQ", True)

    def export(who: Principal, fmt: exchange.Format) -> object:
        def run() -> str:
            with platform.unit_of_work(who) as s:
                size = sum(
                    len(b) for b in exchange.export_bytes(s, who, platform.spatial, fmt, rules)
                )
            return f"{size / 1e6:.1f} MB"

        return run

    _timed("CSV of every notification, as the centre (contacts)", export(centre, "csv"))
    _timed("CSV as the force (the shared half, no contacts)", export(force, "csv"))
    _timed("HXL 3W of the sites, as the centre", export(centre, "hxl"))

    def picture() -> str:
        with platform.unit_of_work(Principal.anonymous()) as s:
            events = outbound.picture(s, force_viewer)
        notified = sum(1 for e in events if e.uid.startswith("cmcc-notified-"))
        return f"{len(events)} events, {notified} notified"

    _timed("TAK picture of the force", picture)

    fence = platform.fence()
    with platform.unit_of_work(Principal.anonymous()) as s:
        load_fence(s, fence)
    now = dt.datetime.now(dt.UTC)
    info = DeviceInfo(
        "bn-1", "BN", orgs["ISF-HQ"].id, "ISF-HQ", 1, "P-1", "mission", None, Caveats()
    )
    positions = [
        Position(
            make_event(
                "bn-1",
                "a-f-G",
                rng.uniform(LAT0, LAT1),
                rng.uniform(LON0, LON1),
                now=now,
                stale_seconds=60,
            ),
            info,
            0,
        )
        for _ in range(1000)
    ]

    def check() -> str:
        try:
            with platform.unit_of_work(Principal.system_operator(), write=True) as s:
                alerts = track_in_movement(s, fence, positions)
                count = len(alerts)
                raise Rollback
        except Rollback:
            return f"{count} new alerts"

    _timed(f"track-in-movement check, 1,000 positions, {args.movements} movements", check, 5)
    print(f"(the geofence holds {len(fence)} zones)")
    platform.dispose()


if __name__ == "__main__":
    main()
