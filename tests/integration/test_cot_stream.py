"""Positions through the JetStream stream, on both backends: a fix delivered twice is stored
once (its key) with the batch's audit entry covering exactly the rows stored; caveat entries
are alerted once whichever worker stores a unit's positions, in time order or not; a gateway's
publisher and two `cmcc worker`s on the shared NATS server (a namespace of their own)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.audit.service import verify
from cmcc.bootstrap import Platform
from cmcc.cot import devices, tracks
from cmcc.cot.bridge import ALERT_KIND, Bridge
from cmcc.cot.codec import make_event
from cmcc.cot.event import CotEvent, Report
from cmcc.cot.publisher import Publisher
from cmcc.cot.stream import Fix, decode, encode, fixes_of
from cmcc.cot.worker import Worker
from cmcc.incidents.models import Alert
from tests.asyncrun import run as run_async
from tests.factories import caller, org, pledge_body
from tests.jetstream import streamed

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
SYSTEM = Principal.system_operator()
GAZA = {
    "type": "Polygon",
    "coordinates": [
        [[34.30, 31.30], [34.50, 31.30], [34.50, 31.55], [34.30, 31.55], [34.30, 31.30]]
    ],
}
INSIDE = (31.45, 34.40)  # lat, lon
OUTSIDE = (31.20, 34.25)


def event(uid: str, seconds: float, where: tuple[float, float]) -> CotEvent:
    return make_event(
        uid, "a-f-G-U-C", *where, now=T0 + dt.timedelta(seconds=seconds), stale_seconds=120
    )


def through_stream(*events: CotEvent) -> list[Fix]:
    """The fixes as a worker decodes them from the gateway's message (with their keys)."""
    return [
        f
        for data, _ in encode(fixes_of(Report.from_device(e) for e in events))
        for f in decode(data)
    ]


def forbidding_pledge(platform: Platform, client: TestClient, uid: str = "usa-1") -> None:
    """A US unit whose pledge's caveats forbid the Gaza Strip zone."""
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers

    def ok(r: Any) -> dict[str, Any]:
        assert r.status_code == 201, r.text
        return dict(r.json())

    zone = {"name": "Gaza Strip", "kind": "gaza_strip", "geometry": GAZA}
    ok(
        client.post(
            "/api/v1/zones", headers=staff, json={**zone, "valid_from": "2026-01-01T00:00:00Z"}
        )
    )
    body = pledge_body(state="USA", caveats={"forbidden_zone_kinds": ["gaza_strip"]})
    pledge = ok(client.post("/api/v1/pledges", headers=staff, json=body))
    org(platform, "USA")
    with platform.unit_of_work(SYSTEM, write=True) as s:
        devices.register(s, uid, "USA", pledge_ref=pledge["ref"])


def caveat_alerts(platform: Platform) -> list[tuple[str, dt.datetime]]:
    """(uid, time) of the position of each caveat alert."""
    with platform.unit_of_work(SYSTEM) as s:
        stmt = (
            select(tracks.Track.uid, tracks.Track.time)
            .join(Alert, Alert.track_id == tracks.Track.id)
            .where(Alert.kind == ALERT_KIND)
            .order_by(tracks.Track.time)
        )
        return [(uid, time) for uid, time in s.execute(stmt)]


def test_a_batch_delivered_twice_is_stored_once(platform: Platform) -> None:
    first = through_stream(*(event(f"u{n}", n, INSIDE) for n in range(5)))
    assert Bridge(platform).store(first) == 5
    assert Bridge(platform).store(first) == 0  # another worker, the same messages again
    overlap = through_stream(*(event(f"u{n}", n, INSIDE) for n in range(3, 8)))
    assert Bridge(platform).store(overlap) == 3

    with platform.unit_of_work(SYSTEM) as s:
        stored = list(s.scalars(select(tracks.Track).order_by(tracks.Track.id)))
        assert [t.uid for t in stored] == [f"u{n}" for n in range(8)]
        keys = {t.event_key.replace("-", "") for t in stored if t.event_key}
        assert keys == {f.key for f in first + overlap}
        entries = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.entity == "tracks").order_by(AuditEntry.seq)
            )
        )
        assert ['"count":5' in e.changes for e in entries] == [True, False]
        assert '"count":3' in entries[1].changes
        for entry in entries:  # each digest covers exactly the rows its batch stored
            first_id, last_id = (int(x) for x in entry.record_id.split("-"))
            digest = entry.changes.split('"sha256":"')[1].split('"')[0]
            assert tracks.verify_batch(s, first_id, last_id, digest)
        assert verify(s).ok


def test_caveat_entries_once_whichever_worker_stores_them(
    platform: Platform, client: TestClient
) -> None:
    forbidding_pledge(platform, client)
    one, two = Bridge(platform), Bridge(platform)  # two workers: no memory in common

    def at(minute: int, where: tuple[float, float]) -> list[Fix]:
        return through_stream(event("usa-1", minute * 60, where))

    one.store(at(0, OUTSIDE))
    two.store(at(1, INSIDE))  # entry
    one.store(at(2, INSIDE))
    two.store(at(2, INSIDE))  # the same message delivered again, to the other worker
    two.store(at(3, OUTSIDE))
    one.store(at(4, INSIDE))  # entry
    one.store(at(5, OUTSIDE))
    assert [t for _, t in caveat_alerts(platform)] == [T0 + dt.timedelta(minutes=m) for m in (1, 4)]
    # Out of time order: minute 7 is stored before minute 6, both inside after minute 5 outside.
    two.store(at(7, INSIDE))
    one.store(at(6, INSIDE))  # its stay goes on into minute 7, alerted already
    assert [t for _, t in caveat_alerts(platform)] == [
        T0 + dt.timedelta(minutes=m) for m in (1, 4, 7)
    ]
    # Several positions of the unit in one batch: in, out, in again.
    one.store(
        through_stream(
            *(
                event("usa-1", 600 + s, w)
                for s, w in ((0, OUTSIDE), (1, INSIDE), (2, OUTSIDE), (3, INSIDE))
            )
        )
    )
    assert len(caveat_alerts(platform)) == 5


def test_a_gateway_and_two_workers_share_the_stream(platform: Platform, client: TestClient) -> None:
    """Every message holds the unit's whole stay (outside, inside, outside): one alert per
    message, whichever worker stores it and in whatever order; every position stored once."""
    forbidding_pledge(platform, client)
    messages, units = 30, 40
    with streamed(platform, worker_batch_messages=4) as p:

        async def main() -> None:
            publisher = Publisher(p.settings)
            await publisher.start()
            workers = [Worker(p, "w1"), Worker(p, "w2")]
            running = [asyncio.create_task(w.run()) for w in workers]
            for m in range(messages):
                base = m * 10
                stay = [
                    event("usa-1", base + s, w)
                    for s, w in ((0, OUTSIDE), (1, INSIDE), (2, INSIDE), (3, OUTSIDE))
                ]
                others = [event(f"u{n}", base + n / 100, INSIDE) for n in range(units)]
                assert publisher.submit([Report.from_device(e) for e in stay + others]) == units + 4
            deadline = asyncio.get_running_loop().time() + 60
            while sum(w.counts.messages for w in workers) < messages:
                assert asyncio.get_running_loop().time() < deadline, "the workers fell behind"
                await asyncio.sleep(0.1)
            for w in workers:
                w.stop()
            await asyncio.gather(*running)
            await publisher.close()
            assert publisher.status()["published"] == messages * (units + 4)
            assert all(w.counts.messages for w in workers) or messages < 2  # both took a share

        run_async(main())
    with platform.unit_of_work(SYSTEM) as s:
        assert s.scalar(select(func.count()).select_from(tracks.Track)) == messages * (units + 4)
        assert s.scalar(select(func.count(func.distinct(tracks.Track.event_key)))) == messages * (
            units + 4
        )
    entered = [t for _, t in caveat_alerts(platform)]
    assert entered == [T0 + dt.timedelta(seconds=m * 10 + 1) for m in range(messages)]
