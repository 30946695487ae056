"""What the tasked-area check costs the TAK bridge (issue 13): batches of positions through
`Bridge.ingest`, from devices that belong to no unit, then from devices linked to ORBAT units
that each have an open task in an area (half of the positions outside it).

    .venv/bin/python bench/cot/tasked_area_bench.py [--units 200] [--batch 5000] [--runs 5]
    CMCC_DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/cot/tasked_area_bench.py

On SQLite it uses a fresh database in a temporary folder; with CMCC_DATABASE_URL, that (empty,
migrated) database. Prints the median time per batch and the ratio; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import update

from cmcc.access.domain import Principal
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform, bootstrap
from cmcc.command.domain import Echelon, UnitKind
from cmcc.command.models import UnitTask
from cmcc.command.orbat import create_unit
from cmcc.command.schemas import UnitCreate
from cmcc.config import Settings
from cmcc.cot import codec, devices
from cmcc.cot.bridge import Bridge
from cmcc.cot.event import Report
from cmcc.incidents.models import Alert
from cmcc.initialize import initialize
from cmcc.zones.schemas import ZoneCreate
from cmcc.zones.service import create_zone

SECRET = "bench-secret-" + "x" * 32
D = 0.004  # a task area's side, degrees


def square(x: float, y: float, d: float = D) -> dict[str, object]:
    ring = [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def seed(platform: Platform, units: int, now: dt.datetime) -> list[tuple[str, float, float]]:
    """`units` units, each with an open task in its own small square and 5 linked devices, and
    as many unlinked devices; the devices' uids with their square's corner."""
    system = Principal.system_operator()
    out: list[tuple[str, float, float]] = []
    with platform.unit_of_work(system, write=True) as s:
        cmcc = org_by_code(s, "CMCC")
        principal = Principal.system_operator(cmcc.id, cmcc.code)
        hq = create_unit(
            s,
            principal,
            UnitCreate(
                name="HQ", kind=UnitKind.HEADQUARTERS, echelon=Echelon.CORPS, valid_from=now
            ),
        )
        for n in range(units):
            x, y = 34.22 + (n % 20) * 0.01, 31.25 + (n // 20) * 0.01
            unit = create_unit(
                s,
                principal,
                UnitCreate(
                    name=f"Unit {n}", echelon=Echelon.COMPANY, parent=hq.lineage_id, valid_from=now
                ),
            )
            zone = create_zone(
                s,
                principal,
                ZoneCreate.model_validate(
                    {
                        "name": f"Task area {n}",
                        "kind": "restricted_area",
                        "geometry": square(x, y),
                        "valid_from": now.isoformat(),
                        "outside_aoi": True,
                    }
                ),
                aoi=platform.settings.aoi_bbox,
                fence=None,
            )
            s.add(
                UnitTask(
                    title=f"Task {n}",
                    task="protection_of_civilians",
                    unit_lineage=unit.lineage_id,
                    issuer_lineage=hq.lineage_id,
                    zone_lineage=zone.lineage_id,
                    starts_at=now - dt.timedelta(hours=1),
                    ends_at=now + dt.timedelta(days=1),
                    issued_by="bench",
                    owner_org_id=cmcc.id,
                )
            )
            for k in range(5):
                devices.register(s, f"u{n}-{k}", "CMCC", unit_lineage=unit.lineage_id)
                devices.register(s, f"x{n}-{k}", "CMCC")
                out.append((f"{n}-{k}", x, y))
    return out


def batch(
    uids: list[tuple[str, float, float]], prefix: str, size: int, now: dt.datetime
) -> list[Report]:
    reports = []
    for i in range(size):
        uid, x, y = uids[i % len(uids)]
        outside = i % 2 == 1
        lon, lat = (x + 2 * D, y + 2 * D) if outside else (x + D / 2, y + D / 2)
        ev = codec.make_event(f"{prefix}{uid}", "a-f-G-U-C", lat, lon, now=now, stale_seconds=600)
        reports.append(Report.from_device(ev))
    return reports


def close_alerts(platform: Platform) -> None:
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        s.execute(update(Alert).where(Alert.status == "open").values(status="closed"))


def timed(
    bridge: Bridge, reports: list[Report], runs: int, reset: Callable[[], None] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if reset is not None:
            reset()
        start = time.perf_counter()
        bridge.ingest(reports)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        url = os.environ.get("CMCC_DATABASE_URL")
        settings = Settings(
            home=Path(home), secret_key=SECRET, environment="test", database_url=url
        )
        platform = bootstrap(settings)
        initialize(platform)
        now = dt.datetime.now(dt.UTC)
        uids = seed(platform, args.units, now)
        bridge = Bridge(platform)
        bridge.ingest(batch(uids, "x", 100, now))  # warm up: caches, fence
        plain = timed(bridge, batch(uids, "x", args.batch, now), args.runs)
        reports = batch(uids, "u", args.batch, now)
        raising = timed(bridge, reports, args.runs, lambda: close_alerts(platform))
        steady = timed(bridge, reports, args.runs)
        plain = (plain + timed(bridge, batch(uids, "x", args.batch, now), args.runs)) / 2
        backend = platform.engine.dialect.name
        platform.dispose()
    print(f"backend {backend}; {args.units} units with an open task each; batch {args.batch}")
    print(f"  devices of no unit:        {plain * 1000:8.1f} ms per batch (before and after)")
    print(
        f"  devices of tasked units:   {raising * 1000:8.1f} ms per batch, half outside, "
        f"raising one alert per task ({raising / plain:.2f}x)"
    )
    print(
        f"  ... the alerts already open: {steady * 1000:6.1f} ms per batch ({steady / plain:.2f}x)"
    )


if __name__ == "__main__":
    main()
