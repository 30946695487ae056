"""Notified humanitarian sites and movements reaching a TAK client of the force through
`cmcc serve`, over a real socket: the site as a protected marker once the centre shares it with
the force, the movement as a route during its window, and a delete for each when it ends (the
site withdrawn; the movement's window over, by the clock). Never a contact."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytak
import pytest

from cmcc.access.domain import Principal
from cmcc.bootstrap import Platform
from cmcc.cot import devices
from cmcc.cot.event import CotEvent
from tests.e2e.test_cot_gateway import Listener
from tests.factories import Caller
from tests.humanitarian_fixtures import Cast, iso, movement_body, site_body
from tests.serving import free_port, served

pytestmark = pytest.mark.e2e
CONTACT_WORDS = ("Omar Nasser", "111 1111", "Amal Haddad", "000 0000", "wfp.example")


@pytest.fixture
def gateway(platform: Platform, tmp_path: Path) -> Iterator[tuple[str, int, Cast]]:
    cast = Cast(platform)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.register(s, "isf-1", "ISF-HQ", callsign="ISF-OPS")
    port = free_port()
    env = {"CMCC_COT_TCP_PORT": str(port), "CMCC_COT_RELAY": "mission"}
    with served(platform, tmp_path, extra_env=env) as (base, _log):
        yield base, port, cast


def _until(
    listener: Listener, done: Callable[[CotEvent], bool], got: list[CotEvent], seconds: float = 40
) -> CotEvent | None:
    """Read until an event satisfies `done` (kept in `got` with all the others)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for ev in listener.events(1.0):
            got.append(ev)
            if done(ev):
                return ev
    return None


def _post(base: str, who: Caller, path: str, body: dict[str, Any], code: int = 201) -> Any:
    r = httpx.post(f"{base}{path}", json=body, headers=who.headers, timeout=30)
    assert r.status_code == code, r.text
    return r.json()


def _shared(base: str, cast: Cast, body: dict[str, Any]) -> dict[str, Any]:
    n = _post(base, cast.partner, "/api/v1/notifications", body)
    step = {"version": n["version"], "to": "shared", "audiences": ["force"]}
    return dict(_post(base, cast.centre, f"/api/v1/notifications/{n['lineage']}/status", step, 200))


def test_a_force_client_gets_protected_items_and_their_removal(
    gateway: tuple[str, int, Cast],
) -> None:
    base, port, cast = gateway
    client = Listener(port)
    client.send(
        pytak.gen_cot(lat=31.40, lon=34.40, uid="isf-1", cot_type="a-f-G", callsign="ISF-OPS")
    )
    got: list[CotEvent] = []
    client.events(1.0)

    clinic = _shared(base, cast, site_body())
    site_uid = f"cmcc-notified-site-{clinic['id']}"
    site = _until(client, lambda ev: ev.uid == site_uid, got)
    assert site is not None and site.type == "a-n-G-I"
    assert (site.remarks or "").startswith("Notified humanitarian site — protected")

    now = dt.datetime.now(dt.UTC)
    window = {
        "valid_from": iso(now - dt.timedelta(hours=1)),
        "valid_to": iso(now + dt.timedelta(seconds=20)),
    }
    convoy = _shared(base, cast, movement_body(**window))
    route_uid = f"cmcc-notified-movement-{convoy['id']}"
    route = _until(client, lambda ev: ev.uid == route_uid, got)
    assert route is not None and route.type == "b-m-r"

    withdraw = {"version": clinic["version"], "to": "withdrawn"}
    _post(base, cast.partner, f"/api/v1/notifications/{clinic['lineage']}/status", withdraw, 200)
    assert _until(client, lambda ev: ev.is_delete and site_uid in ev.link_uids, got)
    # Nobody acts on the convoy: its window closes, and the gateway, watching the clock,
    # removes it.
    assert _until(client, lambda ev: ev.is_delete and route_uid in ev.link_uids, got)
    assert not any(word in ev.raw.decode() for ev in got for word in CONTACT_WORDS)
    client.close()
