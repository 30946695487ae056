"""The TAK gateway of `cmcc serve`, end to end, with the real pytak client: positions relayed
to registered devices (never to an unregistered one), stored as tracks and geofenced (a US unit
inside Gaza raises a caveat alert), a spot marker filed as a draft incident, the platform's
picture sent on join, replay of the latest positions, stale events and deletes."""

from __future__ import annotations

import asyncio
import configparser
import datetime as dt
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytak
import pytest

from cmcc.access.domain import Role
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.cot import codec, devices
from cmcc.cot.framing import XmlStreamSplitter
from tests.asyncrun import run as run_async
from tests.factories import caller
from tests.serving import eventually, free_port, served

pytestmark = pytest.mark.e2e
INSIDE_GAZA = (31.45, 34.40)  # lat, lon: Gaza City, inside the Strip
OUTSIDE = (31.61, 34.77)  # Kiryat Gat


UDP_PORTS: dict[int, int] = {}


def _udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gateway(gaza: Platform, tmp_path: Path) -> Iterator[tuple[str, int, Platform]]:
    """The served platform: its base URL and CoT TCP port (its UDP port in UDP_PORTS)."""
    platform = gaza
    with operator_session(platform, write=True, actor="system:test") as session:
        devices.register(session, "us-1", "USA", callsign="EAGLE-1", pledge_ref="USA-2025-01")
        devices.register(session, "idn-1", "IDN", callsign="GARUDA-1")
        devices.register(session, "idn-2", "IDN", callsign="GARUDA-2")
    port, udp = free_port(), _udp_port()
    env = {
        "CMCC_COT_TCP_PORT": str(port),
        "CMCC_COT_UDP_PORT": str(udp),
        "CMCC_COT_RELAY": "mission",
    }
    UDP_PORTS[id(platform)] = udp
    with served(platform, tmp_path, extra_env=env) as (base, _log):
        yield base, port, platform


def _position(uid: str, callsign: str, where: tuple[float, float], stale: float = 300) -> bytes:
    """A position as pytak writes it (with the contact detail TAK clients add)."""
    data: bytes = pytak.gen_cot(
        lat=where[0], lon=where[1], uid=uid, cot_type="a-f-G-U-C", stale=stale, callsign=callsign
    )
    return data


class Listener:
    """A raw socket client: what the gateway sends it, event by event."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.splitter = XmlStreamSplitter()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def events(self, seconds: float = 1.5) -> list[Any]:
        got = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                break
            if not data:
                break
            got += [codec.parse_xml(f) for f in self.splitter.feed(data)]
        return [e for e in got if not e.type.startswith("t-x-takp")]

    def close(self) -> None:
        self.sock.close()


async def _pytak_send(port: int, events: list[bytes]) -> None:
    config = configparser.ConfigParser()
    config["pytak"] = {"COT_URL": f"tcp://127.0.0.1:{port}"}
    _reader, writer = await pytak.protocol_factory(config["pytak"])
    for data in events:
        writer.write(data)
    await writer.drain()
    await asyncio.sleep(0.5)
    writer.close()


def test_positions_tracks_alerts_and_the_picture(gateway: tuple[str, int, Platform]) -> None:
    base, port, platform = gateway
    staff = {"Authorization": f"Bearer {caller(platform, 'CMCC', Role.STAFF_OFFICER).token}"}
    garuda = Listener(port)
    garuda.send(_position("idn-1", "GARUDA-1", OUTSIDE))  # identifies the device
    picture = garuda.events()
    assert any(e.uid.startswith("cmcc-zone-") for e in picture), [e.uid for e in picture]
    stranger = Listener(port)  # not a registered device
    stranger.send(_position("stranger-1", "NOBODY", OUTSIDE))
    stranger.events(0.5)

    eagle = _position("us-1", "EAGLE-1", INSIDE_GAZA)
    spot = pytak.gen_cot(lat=31.5, lon=34.46, uid="spot-1", cot_type="b-m-p-s-m", stale=3600)
    run_async(_pytak_send(port, [eagle, spot]))

    relayed = garuda.events()
    assert {e.uid for e in relayed} >= {"us-1", "spot-1"}
    assert [e for e in stranger.events() if e.uid in ("us-1", "spot-1")] == []

    def caveat_alert() -> list[Any]:
        alerts = httpx.get(f"{base}/api/v1/alerts", headers=staff).json()["data"]
        return [a for a in alerts if "EAGLE-1" in a["message"] or "us-1" in a["message"]]

    assert len(eventually(caveat_alert, 15)) == 1

    def track() -> list[Any]:
        items = httpx.get(
            f"{base}/ogc/collections/tracks/items", params={"f": "json"}, headers=staff
        ).json()
        return [f for f in items["features"] if f["properties"].get("uid") == "us-1"]

    (feature,) = eventually(track, 15)
    assert feature["geometry"]["coordinates"] == pytest.approx([INSIDE_GAZA[1], INSIDE_GAZA[0]])

    def draft() -> list[Any]:
        found = httpx.get(f"{base}/api/v1/incidents", headers=staff, params={"limit": 500})
        return [i for i in found.json()["data"] if i.get("external_ref") == "cot:spot-1"]

    (incident,) = eventually(draft, 15)
    assert incident["status"] == "reported"

    late = Listener(port)  # replay: the latest position of every uid, to a device that joins
    late.send(_position("idn-2", "GARUDA-2", OUTSIDE))
    assert "us-1" in {e.uid for e in late.events()}

    run_async(_pytak_send(port, [_position("us-1", "EAGLE-1", INSIDE_GAZA, stale=-60)]))
    assert [e for e in garuda.events() if e.uid == "us-1"] == []  # stale on arrival: dropped
    now = dt.datetime.now(dt.UTC)
    delete = codec.make_event(
        "del-1",
        "t-x-d-d",
        0.0,
        0.0,
        now=now,
        stale_seconds=60,
        detail_children='<link uid="us-1" relation="p-p" type="a-f-G-U-C"/>',
    )
    run_async(_pytak_send(port, [_position("us-1", "EAGLE-1", OUTSIDE), delete.raw]))
    assert "t-x-d-d" in {e.type for e in garuda.events()}
    last = Listener(port)
    last.send(_position("idn-2", "GARUDA-2", OUTSIDE))
    assert "us-1" not in {e.uid for e in last.events()}
    for listener in (garuda, stranger, late, last):
        listener.close()


def test_a_client_cannot_move_another_registered_unit(gateway: tuple[str, int, Platform]) -> None:
    """Issue 19 with the real pytak client: a connection identified as an unregistered device,
    then a datagram, each claim the US unit's uid from inside Gaza. Neither moves its track nor
    raises an alert in its name, and a device that joins is replayed the true position."""
    base, port, platform = gateway
    staff = {"Authorization": f"Bearer {caller(platform, 'CMCC', Role.STAFF_OFFICER).token}"}
    run_async(_pytak_send(port, [_position("us-1", "EAGLE-1", OUTSIDE)]))

    def track() -> list[Any]:
        items = httpx.get(
            f"{base}/ogc/collections/tracks/items", params={"f": "json"}, headers=staff
        ).json()
        return [
            f["geometry"]["coordinates"]
            for f in items["features"]
            if f["properties"].get("uid") == "us-1"
        ]

    assert eventually(lambda: track() == [pytest.approx([OUTSIDE[1], OUTSIDE[0]])], 15)
    spoof = _position("us-1", "EAGLE-1", INSIDE_GAZA)
    run_async(_pytak_send(port, [_position("rogue-1", "ROGUE", OUTSIDE), spoof]))
    udp_port = UDP_PORTS[id(platform)]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(spoof, ("127.0.0.1", udp_port))
    time.sleep(2.0)  # past the gateway's batch interval
    alerts = httpx.get(f"{base}/api/v1/alerts", headers=staff).json()["data"]
    assert [a for a in alerts if "EAGLE-1" in a["message"]] == []
    assert track() == [pytest.approx([OUTSIDE[1], OUTSIDE[0]])]
    joiner = Listener(port)
    joiner.send(_position("idn-2", "GARUDA-2", OUTSIDE))
    replayed = [e for e in joiner.events() if e.uid == "us-1"]
    assert [(e.lat, e.lon) for e in replayed] == [pytest.approx(OUTSIDE)]
    joiner.close()
