"""The relay rule between three organizations, with the platform behind the gateway
(PlatformSink), on loopback, both backends: a device's traffic reaches exactly the devices
whose organization may see its marking (`mission`: every member's; `rel:GBR`: GBR's and its
own organization's; `owner`: its own organization's), and a device of an organization that is
not a member of the mission receives none of it. GET /Marti/api/groups/all answers the device
of the client certificate with its groups."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cmcc.access.domain import OrgKind, Principal
from cmcc.api import errors
from cmcc.bootstrap import Platform
from cmcc.cot import devices
from cmcc.cot.server import CotServer
from cmcc.tak import groups, pki
from tests.factories import org
from tests.integration.test_cot_identity import OUTSIDE, event, serve
from tests.tak_fixtures import with_ca
from tests.unit.test_cot_server import Conn

SENDERS = {"idn-m": "mission", "idn-g": "rel:GBR", "idn-o": "owner"}


def three_organizations(platform: Platform) -> None:
    for code in ("IDN", "GBR", "FRA"):
        org(platform, code)
    org(platform, "NGO-1", OrgKind.NGO, member=False)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        for uid, marking in SENDERS.items():
            devices.register(s, uid, "IDN", releasability=marking)
        devices.register(s, "idn-2", "IDN")
        devices.register(s, "gbr-1", "GBR")
        devices.register(s, "fra-1", "FRA")
        devices.register(s, "ngo-1", "NGO-1")


def test_a_devices_traffic_reaches_the_organizations_its_marking_releases_it_to(
    platform: Platform, client: TestClient
) -> None:
    three_organizations(platform)

    async def body(server: CotServer, connect: Callable[[], Awaitable[Conn]], udp: int) -> None:
        receivers = {uid: await connect() for uid in ("idn-2", "gbr-1", "fra-1", "ngo-1")}
        for uid, conn in receivers.items():
            await conn.send(event(uid, OUTSIDE))
        await asyncio.sleep(0.5)
        for conn in receivers.values():
            await conn.read_for(0.3)  # what they were sent on joining
        for uid in SENDERS:
            sender = await connect()
            await sender.send(event(uid, OUTSIDE))
            await sender.send(event(f"{uid}-marker", OUTSIDE, type="b-m-p-s-p-i"))
        got = {
            uid: sorted(e.uid for e in await conn.read_for(1.0) if e.uid.startswith("idn-"))
            for uid, conn in receivers.items()
        }
        assert got == {
            "idn-2": sorted([*SENDERS, *(f"{u}-marker" for u in SENDERS)]),
            "gbr-1": ["idn-g", "idn-g-marker", "idn-m", "idn-m-marker"],
            "fra-1": ["idn-m", "idn-m-marker"],
            "ngo-1": [],
        }
        # A device that joins later is replayed under the same rule.
        late = await connect()
        await late.send(event("fra-1", OUTSIDE))
        assert sorted(e.uid for e in await late.read_for(1.0) if e.uid.startswith("idn-")) == [
            "idn-2",
            "idn-m",
            "idn-m-marker",
        ]

    serve(platform, body)


def groups_app(platform: Platform, pem: str | None) -> FastAPI:
    """The groups router in an app whose connections present `pem` as their client
    certificate (the ASGI TLS extension, as the 8443 server fills it from the handshake)."""
    app = FastAPI()
    app.state.platform = platform
    app.include_router(groups.router)
    errors.install(app)

    @app.middleware("http")
    async def presented(request: Request, call_next: Any) -> Any:
        chain = [pem] if pem else []
        request.scope.setdefault("extensions", {})["tls"] = {"client_cert_chain": chain}
        return await call_next(request)

    return app


def test_groups_all_answers_the_device_of_the_certificate(
    platform: Platform, tmp_path: Path
) -> None:
    three_organizations(platform)
    with_ca(platform, tmp_path)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        rel = pki.issue_for_device(s, "idn-g").cert_pem.decode()
        outsider = pki.issue_for_device(s, "ngo-1").cert_pem.decode()
        revoked = pki.issue_for_device(s, "idn-o")
        pki.revoke(s, revoked.certificate.serial, "key_compromise")
    with TestClient(groups_app(platform, rel)) as c:
        r = c.get("/Marti/api/groups/all")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "com.bbn.marti.remote.groups.Group"
    assert [(g["name"], g["direction"]) for g in body["data"]] == [
        ("__ANON__", "IN"),
        ("mission", "IN"),
        ("IDN", "IN"),
        ("GBR", "OUT"),
        ("IDN", "OUT"),
    ]
    with TestClient(groups_app(platform, outsider)) as c:
        names = [(g["name"], g["direction"]) for g in c.get("/Marti/api/groups/all").json()["data"]]
    assert names == [("__ANON__", "IN"), ("NGO-1", "IN"), ("mission", "OUT"), ("NGO-1", "OUT")]
    with TestClient(groups_app(platform, revoked.cert_pem.decode())) as c:
        assert c.get("/Marti/api/groups/all").status_code == 403
    with TestClient(groups_app(platform, None)) as c:
        assert c.get("/Marti/api/groups/all").status_code == 401
