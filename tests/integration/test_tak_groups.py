"""The relay rule between three organizations, with the platform behind the gateway
(PlatformSink), on loopback, both backends: a device's traffic reaches exactly the devices
whose organization may see its marking (`mission`: every member's; `rel:GBR`: GBR's and its
own organization's; `owner`: its own organization's), and a device of an organization that is
not a member of the mission receives none of it. GET /Marti/api/groups/all answers the device
of the client certificate with its groups."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cmcc.access.domain import OrgKind, Principal
from cmcc.api import errors
from cmcc.bootstrap import Platform
from cmcc.cot import devices
from cmcc.cot.server import CotServer
from cmcc.tak import groups, https, pki
from cmcc.tak.tls import server_tls
from tests.asyncrun import run as run_async
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
        for _ in range(100):  # until the server has identified every receiver (a loaded machine)
            known = {c.peer.device_uid for c in server.clients if c.peer is not None}
            if known >= set(receivers):
                break
            await asyncio.sleep(0.1)
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


def key_pem(issued: pki.Issued) -> bytes:
    return issued.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_groups_all_answers_the_device_of_the_certificate(
    platform: Platform, tmp_path: Path
) -> None:
    """Over mutual TLS (cmcc.tak.https, as the 8443 app serves it), with httpx as the device."""
    three_organizations(platform)
    with_ca(platform, tmp_path)
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        issued = {uid: pki.issue_for_device(s, uid) for uid in ("idn-g", "ngo-1", "fra-1")}
        (tmp_path / "ca.pem").write_bytes(pki.authority_pem(s))
    with platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.unregister(s, "fra-1")  # its certificate is valid, but names no device now
    app = FastAPI()
    app.state.platform = platform
    app.include_router(groups.router)
    errors.install(app)

    def client_of(uid: str) -> ssl.SSLContext:
        (tmp_path / f"{uid}.pem").write_bytes(issued[uid].cert_pem)
        (tmp_path / f"{uid}.key").write_bytes(key_pem(issued[uid]))
        ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        ctx.load_cert_chain(tmp_path / f"{uid}.pem", tmp_path / f"{uid}.key")
        return ctx

    async def main() -> dict[str, httpx.Response]:
        side = await asyncio.to_thread(server_tls, platform, client_certificates=True)
        served = await https.serve(app, "127.0.0.1", 0, side)
        url = f"https://127.0.0.1:{served.port}/Marti/api/groups/all"
        try:
            answers = {}
            for uid in issued:
                async with httpx.AsyncClient(verify=client_of(uid)) as c:
                    answers[uid] = await c.get(url)
            return answers
        finally:
            await served.stop()

    answers = run_async(main())
    body = answers["idn-g"].json()
    assert answers["idn-g"].status_code == 200, body
    assert body["type"] == "com.bbn.marti.remote.groups.Group" and body["version"] == "3"
    assert [(g["name"], g["direction"]) for g in body["data"]] == [
        ("__ANON__", "IN"),
        ("mission", "IN"),
        ("IDN", "IN"),
        ("GBR", "OUT"),
        ("IDN", "OUT"),
    ]
    outsider = [(g["name"], g["direction"]) for g in answers["ngo-1"].json()["data"]]
    assert outsider == [("__ANON__", "IN"), ("NGO-1", "IN"), ("mission", "OUT"), ("NGO-1", "OUT")]
    assert answers["fra-1"].status_code == 403
