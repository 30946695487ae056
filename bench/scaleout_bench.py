"""Between instances over NATS: how soon a zone drawn on instance A is enforced by instance B's
geofence (issue 15's goal: within 1 s), and how soon an alert raised on A reaches a live-feed
subscriber of B. Two platforms in this process on one scratch PostgreSQL database, each with
its own NATS connection and event loop (as two `cmcc serve` would have), on the NATS server at
CMCC_BENCH_NATS_URL (default nats://127.0.0.1:4222), in a namespace of its own.

Measured from the commit on A to the moment B's geofence answers a point inside the new zone
(B polls it every millisecond) and to the moment the alert event is in B's subscriber queue.
Prints median, p95 and max with the machine's load average; asserts nothing.

    .venv/bin/python bench/scaleout_bench.py [--runs 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from contextlib import ExitStack

import numpy as np
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal, Role
from cmcc.access.service import org_by_code
from cmcc.bootstrap import Platform, bootstrap
from cmcc.cli.common import announcing
from cmcc.config import Settings
from cmcc.initialize import initialize
from cmcc.zones import service as zones
from cmcc.zones.schemas import ZoneCreate
from scratch import scratch_postgres

NATS_URL = os.environ.get("CMCC_BENCH_NATS_URL", "nats://127.0.0.1:4222")
SECRET = "bench-secret-" + "x" * 32


def square(i: int) -> tuple[dict[str, object], tuple[float, float]]:
    """A small square zone somewhere in the Strip, and a point inside it."""
    lon, lat = 34.25 + (i % 20) * 0.01, 31.25 + (i // 20 % 20) * 0.01
    ring = [[lon, lat], [lon + 0.005, lat], [lon + 0.005, lat + 0.005], [lon, lat + 0.005]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, (lon + 0.0025, lat + 0.0025)


def knows(platform: Platform, zone_id: int, point: tuple[float, float]) -> bool:
    _pts, ids = platform.fence().check_many(np.array([point[0]]), np.array([point[1]]))
    return zone_id in set(ids.tolist())


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name}: median {statistics.median(ordered) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms over {len(ordered)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; NATS {NATS_URL}"
    )
    with scratch_postgres() as url, ExitStack() as stack:
        settings = Settings(
            database_url=url,
            secret_key=SECRET,
            environment="test",
            nats_url=NATS_URL,
            nats_namespace=f"bench{uuid.uuid4().hex[:8]}",
        )
        a, b = bootstrap(settings), bootstrap(settings)
        initialize(a)
        for p in (a, b):
            stack.callback(p.dispose)
            stack.enter_context(announcing(p))
        b.fence()  # loaded, as on an instance that has served requests
        loop = asyncio.new_event_loop()
        stack.callback(loop.close)
        subscription = loop.run_until_complete(_subscribe(b))

        zone_times, alert_times = [], []
        for i in range(args.runs):
            geometry, inside = square(i)
            with a.unit_of_work(Principal.system_operator(), write=True) as session:
                data = ZoneCreate.model_validate(
                    {
                        "name": f"Bench zone {i}",
                        "kind": "restricted_area",
                        "geometry": geometry,
                        "valid_from": "2026-01-01T00:00:00Z",
                    }
                )
                zone = zones.create_zone(
                    session, staff(session), data, aoi=settings.aoi_bbox, fence=a.fence()
                )
                zone_id = zone.id
            committed = time.perf_counter()
            deadline = committed + 10
            while not knows(b, zone_id, inside) and time.perf_counter() < deadline:
                time.sleep(0.001)
            zone_times.append(time.perf_counter() - committed)

            sent = time.perf_counter()
            a.bus.publish({"type": "alert", "id": 10_000 + i})
            while True:  # the queue also holds the zone's `changed` event
                event = loop.run_until_complete(asyncio.wait_for(subscription.queue.get(), 10))
                if event.get("type") == "alert" and event["id"] == 10_000 + i:
                    break
            alert_times.append(time.perf_counter() - sent)
        print(summary("zone drawn on A, enforced by B's geofence", zone_times))
        print(summary("alert event on A, in B's live-feed queue", alert_times))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def staff(session: Session) -> Principal:
    centre = org_by_code(session, "CMCC")
    return Principal(None, "bench", centre.id, centre.code, True, Role.STAFF_OFFICER)


async def _subscribe(p: Platform):  # type: ignore[no-untyped-def]
    return p.bus.subscribe()


if __name__ == "__main__":
    main()
