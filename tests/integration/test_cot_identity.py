"""Who a TAK connection speaks for, and what the gateway keeps for replay: the gateway's server
with the platform behind it (PlatformSink), on loopback, with raw sockets; both backends.

Issue 19: positions are attributed to the device a connection was identified as, never to the
uid an event claims (a connection may not move another registered unit, nor raise alerts in its
name; nor may an anonymous datagram unless datagrams are trusted); the latest-event store keeps
only what may be replayed, within caps; a client is not echoed its own event, and an
unregistered client gets the public picture once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cmcc.access.domain import Principal, Role
from cmcc.bootstrap import Platform
from cmcc.core.releasability import Viewer
from cmcc.cot import codec, devices, tracks
from cmcc.cot.gateway import PlatformSink
from cmcc.cot.server import CotServer, Limits
from cmcc.incidents.models import Alert
from tests.asyncrun import run as run_async
from tests.factories import caller, org, pledge_body
from tests.unit.test_cot_server import Conn

GAZA = {
    "type": "Polygon",
    "coordinates": [
        [[34.30, 31.30], [34.50, 31.30], [34.50, 31.55], [34.30, 31.55], [34.30, 31.30]]
    ],
}
INSIDE = (31.45, 34.40)  # lat, lon
OUTSIDE = (31.61, 34.77)
EVERYONE = Viewer(None, None, True, sees_all=True)


def event(uid: str, where: tuple[float, float], *, callsign: str | None = None, **kw: Any) -> bytes:
    ev = codec.make_event(
        uid,
        kw.pop("type", "a-f-G-U-C"),
        *where,
        now=dt.datetime.now(dt.UTC),
        stale_seconds=kw.pop("stale", 300),
        how="m-g",
        callsign=callsign or uid,
        **kw,
    )
    return ev.raw


def setup(platform: Platform, client: TestClient) -> None:
    """A US logistics unit whose caveats forbid the Strip, registered as us-1 (EAGLE-1); an
    Indonesian device idn-1; the Strip as a zone."""
    org(platform, "USA")
    org(platform, "IDN")
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    usa = caller(platform, "USA", Role.LIAISON_OFFICER).headers
    r = client.post(
        "/api/v1/zones",
        headers=staff,
        json={"name": "Gaza Strip", "kind": "gaza_strip", "geometry": GAZA},
    )
    assert r.status_code == 201, r.text
    body = pledge_body(
        state="USA", capability="logistics", caveats={"forbidden_zone_kinds": ["gaza_strip"]}
    )
    r = client.post("/api/v1/pledges", headers=usa, json=body)
    assert r.status_code == 201, r.text
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "us-1", "USA", callsign="EAGLE-1", pledge_ref=body["ref"])
        devices.register(s, "idn-1", "IDN", callsign="GARUDA-1")


def serve(
    platform: Platform,
    body: Callable[[CotServer, Callable[[], Awaitable[Conn]], int], Awaitable[None]],
    **limits: Any,
) -> None:
    async def main() -> None:
        server = CotServer(PlatformSink(platform), Limits(**limits))
        udp = _free_udp_port()
        await server.start("127.0.0.1", [0], udp)
        port = server.ports[0]

        async def connect() -> Conn:
            return Conn(*await asyncio.open_connection("127.0.0.1", port))

        try:
            await body(server, connect, udp)
        finally:
            await server.stop()

    run_async(main())


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def datagram(port: int, data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data, ("127.0.0.1", port))


def us1_track(platform: Platform) -> tuple[float, float] | None:
    with platform.unit_of_work(Principal.system_operator()) as s:
        latest = {t.uid: t for t in tracks.latest(s, EVERYONE)}
    t = latest.get("us-1")
    return None if t is None else (t.lat, t.lon)


def caveat_alerts(platform: Platform) -> int:
    with platform.unit_of_work(Principal.system_operator()) as s:
        stmt = select(func.count()).select_from(Alert).where(Alert.kind == "caveat_violation")
        return int(s.scalar(stmt) or 0)


async def arrived(server: CotServer, events: int) -> None:
    """Until the server has handled `events` events in all (it counts them as it routes them)."""
    deadline = time.monotonic() + 30
    while server.received < events:
        assert time.monotonic() < deadline, f"{server.received} of {events} events arrived"
        await asyncio.sleep(0.01)


async def flushed(server: CotServer, events: int) -> None:
    """Until `events` events have arrived and what they left pending is stored."""
    await arrived(server, events)
    await server._flush()


def test_no_connection_moves_another_registered_unit(
    platform: Platform, client: TestClient
) -> None:
    setup(platform, client)

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        real = await connect()
        await real.send(event("us-1", OUTSIDE, callsign="EAGLE-1"))
        await flushed(server, 1)
        assert us1_track(platform) == OUTSIDE

        rogue = await connect()
        await rogue.send(event("rogue-1", OUTSIDE))  # identified as an unregistered device
        await rogue.send(event("us-1", INSIDE, callsign="EAGLE-1"))  # speaks for us-1
        await rogue.send(event("marker-9", INSIDE, callsign="EAGLE-1"))  # in its callsign
        await rogue.send(event("rogue-1", INSIDE, callsign="GARUDA-1"))  # or another's
        datagram(udp, event("us-1", INSIDE, callsign="EAGLE-1"))  # anonymous
        await flushed(server, 6)
        assert server.refused == 4
        assert us1_track(platform) == OUTSIDE
        assert caveat_alerts(platform) == 0
        # A registered device that joins is replayed the true position, not the false one.
        joiner = await connect()
        await joiner.send(event("idn-1", OUTSIDE, callsign="GARUDA-1"))
        replayed = [e for e in await joiner.read_for(1.0) if e.uid == "us-1"]
        assert [(e.lat, e.lon) for e in replayed] == [OUTSIDE]
        # The unit itself, on its own connection, is believed.
        await real.send(event("us-1", INSIDE, callsign="EAGLE-1"))
        await flushed(server, 8)
        assert us1_track(platform) == INSIDE and caveat_alerts(platform) == 1

    serve(platform, body)


def test_a_delete_of_another_registered_unit_is_refused(
    platform: Platform, client: TestClient
) -> None:
    setup(platform, client)

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        real = await connect()
        await real.send(event("us-1", OUTSIDE, callsign="EAGLE-1"))
        rogue = await connect()
        await rogue.send(event("rogue-1", OUTSIDE))
        await rogue.send(
            event("del-1", (0.0, 0.0), type="t-x-d-d", detail_children='<link uid="us-1"/>')
        )
        await arrived(server, 3)
        assert server.refused == 1 and "us-1" in server.latest

    serve(platform, body)


def test_datagrams_move_registered_units_only_when_trusted(
    platform: Platform, client: TestClient
) -> None:
    setup(platform, client)

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        datagram(udp, event("us-1", INSIDE, callsign="EAGLE-1"))
        await flushed(server, 1)
        assert server.refused == 0
        assert us1_track(platform) == INSIDE and caveat_alerts(platform) == 1

    serve(platform, body, udp_trusted=True)


def test_the_store_keeps_only_what_may_be_replayed_within_its_caps(
    platform: Platform, client: TestClient
) -> None:
    setup(platform, client)

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        stranger = await connect()  # unregistered: under the mission relay, never replayed
        await stranger.send(event("stranger-1", OUTSIDE))
        await stranger.send(
            b"".join(event(f"m-{i}", OUTSIDE, type="b-m-p-w", stale=3600) for i in range(300))
        )
        member = await connect()
        await member.send(event("idn-1", OUTSIDE, callsign="GARUDA-1"))
        await member.send(
            b"".join(
                event(f"i-{i}", OUTSIDE, type="a-f-G-U-C", stale=10 * 86400) for i in range(300)
            )
        )
        await arrived(server, 602)
        assert not [u for u in server.latest if u.startswith(("m-", "stranger"))]
        # 50 per connection: the newest (its own first position was the oldest, and went out)
        assert list(server.latest) == [f"i-{i}" for i in range(250, 300)]
        now = dt.datetime.now(dt.UTC)
        assert all(k.until <= now + dt.timedelta(seconds=60) for k in server.latest.values())

    serve(platform, body, max_kept_per_client=50, max_kept=80, max_kept_seconds=60)


def test_the_store_has_a_bound_in_all_and_forgets_what_is_too_old(
    platform: Platform, client: TestClient
) -> None:
    setup(platform, client)

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        for n in range(3):
            c = await connect()
            await c.send(b"".join(event(f"c{n}-{i}", OUTSIDE) for i in range(40)))
            await arrived(server, 40 * (n + 1))
        assert len(server.latest) == 80  # the oldest 40 (all of c0) went out
        assert {u.split("-")[0] for u in server.latest} == {"c1", "c2"}
        await asyncio.sleep(1.2)  # past the longest time an event is kept
        late = await connect()
        assert [e.uid for e in await late.read_for(0.5) if e.uid.startswith("c")] == []

    serve(platform, body, relay_open=True, max_kept_per_client=100, max_kept=80, max_kept_seconds=1)


def test_no_echo_of_ones_own_event_and_one_public_picture(
    platform: Platform, client: TestClient
) -> None:
    setup(platform, client)
    staff = caller(platform, "CMCC", Role.STAFF_OFFICER).headers
    r = client.post(
        "/api/v1/zones",
        headers=staff,
        json={
            "name": "Sector 1",
            "kind": "isf_sector",
            "geometry": GAZA,
            "releasability": "public",
        },
    )
    assert r.status_code == 201, r.text
    public_uid = f"cmcc-zone-{r.json()['id']}"

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        idn = await connect()
        await idn.send(event("idn-1", OUTSIDE, callsign="GARUDA-1"))
        await arrived(server, 1)
        again = await connect()  # the same device, after a reconnect
        await again.send(event("idn-1", OUTSIDE, callsign="GARUDA-1"))
        got = await again.read_for(1.0)
        assert "idn-1" not in [e.uid for e in got]  # never its own event back
        assert [e.uid for e in got].count(public_uid) == 1
        stranger = await connect()
        await stranger.send(event("stranger-1", OUTSIDE))
        seen = [e.uid for e in await stranger.read_for(1.0)]
        assert seen.count(public_uid) == 1

    serve(platform, body)
