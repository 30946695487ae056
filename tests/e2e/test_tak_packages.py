"""TAK data packages over HTTPS with client certificates: the Marti app (`cmcc.tak.marti`)
served by `cmcc.tak.https` on a mutual-TLS port, called as ATAK calls it, by httpx and by curl
(an independent client: its own TLS and multipart), each device with the certificate the CA
issued it. On both backends.

Two organizations upload and download where only one may see a package: the other finds,
lists and downloads nothing and gets the answer of a hash nobody has. Hostile uploads (a zip
bomb made here, `../` and absolute names, an oversized body, a hash that does not match, a
non-zip sent as a zip) are refused with a clear error and nothing written. The picture's
mission package opens as a zip with a manifest and CoT files, and holds only what the device's
organization may see."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import json
import shutil
import socket
import ssl
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import select

from cmcc.access.domain import OrgKind, Principal
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cot import devices, gateway
from cmcc.tak import marti, pki
from cmcc.tak.https import Served, serve
from cmcc.tak.package_checks import MANIFEST
from cmcc.tak.tls import ServerTls, server_tls
from cmcc.zones import service as zones
from cmcc.zones.schemas import ZoneCreate
from tests.factories import org, row_counts
from tests.tak_fixtures import with_ca
from tests.unit.test_tak_package_checks import make_zip

pytestmark = pytest.mark.e2e
PASSPHRASE = b"device key passphrase"
CURL = shutil.which("curl")
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[34.44, 31.50], [34.45, 31.50], [34.45, 31.51], [34.44, 31.51], [34.44, 31.50]]
    ],
}
DEVICES = {  # uid: (organization, member, marking of what it uploads)
    "idn-1": ("IDN", True, "owner"),
    "gbr-1": ("GBR", True, "mission"),
    "tur-1": ("TUR", False, "mission"),
}


@dataclass
class Device:
    uid: str
    cert: Path
    key: Path
    serial: str


@dataclass
class Marti:
    """The Marti app on a mutual-TLS port of its own, in a thread with its own event loop."""

    platform: Platform
    tls: ServerTls
    ca: Path
    devices: dict[str, Device]
    loop: asyncio.AbstractEventLoop
    served: Served | None = None

    @property
    def base(self) -> str:
        assert self.served is not None
        return f"https://localhost:{self.served.port}"

    def context(self, uid: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        device = self.devices[uid]
        ctx.load_cert_chain(device.cert, device.key, password=PASSPHRASE)
        return ctx

    def client(self, uid: str) -> httpx.Client:
        return httpx.Client(verify=self.context(uid), base_url=self.base, timeout=60)

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)


@pytest.fixture
def tak(platform: Platform, tmp_path: Path) -> Iterator[Marti]:
    with_ca(platform, tmp_path)
    issued: dict[str, Device] = {}
    for uid, (code, member, marking) in DEVICES.items():
        org(platform, code, OrgKind.NATION, member=member)
        with platform.unit_of_work(Principal.system_operator(), write=True) as s:
            devices.register(s, uid, code, releasability=marking)
            made = pki.issue_for_device(s, uid)
        cert, key = tmp_path / f"{uid}.pem", tmp_path / f"{uid}.key"
        cert.write_bytes(made.cert_pem)
        key.write_bytes(pki.encrypted_key_pem(made.key, PASSPHRASE))
        issued[uid] = Device(uid, cert, key, made.certificate.serial)
    with platform.unit_of_work(Principal.system_operator()) as s:
        ca = tmp_path / "ca.pem"
        ca.write_bytes(pki.authority_pem(s))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    tls = server_tls(platform, client_certificates=True)
    server = Marti(platform, tls, ca, issued, loop)
    server.served = server.run(serve(marti.create_app(platform), "127.0.0.1", 0, tls))
    yield server
    server.run(server.served.stop())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def mission_upload(
    client: httpx.Client, uid: str, data: bytes, name: str = "patrol"
) -> httpx.Response:
    return client.post(
        "/Marti/sync/missionupload",
        params={"hash": sha(data), "filename": name, "creatorUid": uid},
        files={"assetfile": (f"{name}.zip", data, "application/x-zip-compressed")},
    )


def learned(tak: Marti, uid: str, hash_: str) -> tuple[int, int, str, list[str]]:
    """What a device learns of a hash: missionquery's and content's status, content's error
    (the hash blanked), and the hashes search lists (the picture's left out)."""
    with tak.client(uid) as c:
        query = c.get("/Marti/sync/missionquery", params={"hash": hash_})
        got = c.get("/Marti/sync/content", params={"hash": hash_})
        found = c.get("/Marti/sync/search", params={"keywords": "missionpackage"}).json()
    detail = got.json()["detail"].replace(hash_, "<hash>") if got.status_code != 200 else ""
    listed = [r["Hash"] for r in found["results"] if r["CreatorUid"] != "cmcc"]
    assert found["resultCount"] == len(found["results"])
    return query.status_code, got.status_code, detail, listed


def test_two_organizations_where_only_one_may_see_the_package(tak: Marti) -> None:
    data = make_zip(("a/a.cot", b"<event/>"))
    with tak.client("idn-1") as idn:
        put = mission_upload(idn, "idn-1", data)
        assert put.status_code == 200, put.text
        assert put.text == f"{tak.base}/Marti/sync/content?hash={sha(data)}"
        assert idn.get("/Marti/sync/missionquery", params={"hash": sha(data)}).text == put.text
        got = idn.get(put.text)
        assert got.content == data
        assert got.headers["content-type"] == "application/x-zip-compressed"  # as declared
        assert got.headers["content-disposition"].startswith('attachment; filename="patrol.zip"')
        (mine,) = [
            r for r in idn.get("/Marti/sync/search").json()["results"] if r["Hash"] == sha(data)
        ]
        assert (mine["Name"], mine["CreatorUid"], mine["Size"]) == (
            "patrol.zip",
            "idn-1",
            len(data),
        )
        assert mine["Keywords"] == "missionpackage" and mine["Tool"] == "private"
    with tak.platform.unit_of_work(Principal.system_operator()) as s:  # audited, bytes left out
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.entity == "tak_data_packages"))
        changes = json.loads(entry.changes)
    assert (entry.actor, entry.action) == ("tak-device:idn-1@IDN", "create")
    assert changes["content"] == "<redacted>" and changes["hash"] == sha(data)
    # IDN's device uploads marked `owner`: GBR learns exactly what a hash nobody has tells.
    nobody = learned(tak, "gbr-1", "e" * 64)
    assert nobody == (404, 404, "no data package with hash '<hash>'", [])
    assert learned(tak, "gbr-1", sha(data)) == nobody
    # GBR uploads the same file (raw body): a package of its own, which tells it nothing of IDN's.
    with tak.client("gbr-1") as gbr:
        put = gbr.post(
            "/Marti/sync/upload",
            params={"name": "same.zip", "keywords": "missionpackage,patrol", "creatorUid": "gbr-1"},
            content=data,
            headers={"content-type": "application/zip"},
        )
        assert put.status_code == 200, put.text
        meta = put.json()
        assert (meta["Hash"], meta["Name"], meta["CreatorUid"]) == (sha(data), "same.zip", "gbr-1")
        got = gbr.get("/Marti/sync/content", params={"hash": sha(data)})
        assert "same.zip" in got.headers["content-disposition"]
    assert learned(tak, "gbr-1", sha(data))[:2] == (200, 200)
    # GBR's is marked `mission` (its device's marking): IDN (a member) sees it, TUR does not.
    with tak.client("idn-1") as idn:
        names = {r["Name"] for r in idn.get("/Marti/sync/search").json()["results"]}
        assert {"patrol.zip", "same.zip"} <= names
    assert learned(tak, "tur-1", sha(data)) == learned(tak, "tur-1", "e" * 64)


def test_the_caller_is_the_device_of_its_certificate(tak: Marti) -> None:
    data = make_zip(("a/a.cot", b"<event/>"))
    before = row_counts(tak.platform)
    with tak.client("gbr-1") as gbr:
        other = mission_upload(gbr, "idn-1", data)  # claims to be another device
        assert other.status_code == 422 and "creatorUid" in other.json()["detail"]
        assert gbr.get("/Marti/api/version").text == marti.SERVER
        config = gbr.get("/Marti/api/version/config").json()
        assert config["type"] == "ServerConfig" and config["data"]["hostname"] == "localhost"
    assert row_counts(tak.platform) == before
    # A device no longer registered: its certificate still passes TLS, but names nobody.
    with tak.platform.unit_of_work(Principal.system_operator(), write=True) as s:
        devices.unregister(s, "tur-1")
    with tak.client("tur-1") as tur:
        refused = tur.get("/Marti/sync/search")
    assert refused.status_code == 403 and "not bound" in refused.json()["detail"]
    # Without a certificate, or with a revoked one: refused at the handshake.
    bare = ssl.create_default_context(cafile=str(tak.ca))
    with pytest.raises(httpx.HTTPError), httpx.Client(verify=bare) as client:
        client.get(f"{tak.base}/Marti/api/version")
    with tak.platform.unit_of_work(Principal.system_operator(), write=True) as s:
        pki.revoke(s, tak.devices["gbr-1"].serial, "key_compromise")
    tak.run(tak.tls.refresh())
    with pytest.raises(httpx.HTTPError), tak.client("gbr-1") as gbr:
        gbr.get("/Marti/api/version")


def test_hostile_uploads_are_refused_and_write_nothing(tak: Marti) -> None:
    tak.platform.settings.tak_package_max_bytes = 64 << 10
    bomb = make_zip(("zeros.bin", bytes(32 << 20)))  # 32 MiB of zeros, a few dozen KiB packed
    assert len(bomb) < 64 << 10
    ok = make_zip(("a/a.cot", b"<event/>"))
    before = row_counts(tak.platform)
    with tak.client("idn-1") as idn:
        cases = {
            "bomb": mission_upload(idn, "idn-1", bomb),
            "climbs": mission_upload(idn, "idn-1", make_zip(("../../evil.cot", b"x"))),
            "absolute": mission_upload(idn, "idn-1", make_zip(("/etc/evil.cot", b"x"))),
            "not zip": mission_upload(idn, "idn-1", b"%PDF-1.7 not a zip"),
            "hash": idn.post(
                "/Marti/sync/missionupload",
                params={"hash": "0" * 64, "filename": "p", "creatorUid": "idn-1"},
                files={"assetfile": ("p.zip", ok, "application/zip")},
            ),
            "raw not zip": idn.post(
                "/Marti/sync/upload",
                params={"name": "x.zip"},
                content=b"\x89PNG\r\n\x1a\n" + bytes(100),
                headers={"content-type": "application/zip"},
            ),
            "oversized": idn.post(
                "/Marti/sync/upload", params={"name": "big.bin"}, content=bytes(300 << 10)
            ),
            # chunked, no length declared: refused while it is read
            "oversized chunked": idn.post(
                "/Marti/sync/upload",
                params={"name": "big.bin"},
                content=iter([bytes(32 << 10)] * 10),
            ),
        }
    said = {name: (r.status_code, r.json()["detail"]) for name, r in cases.items()}
    assert said["bomb"][0] == 422 and "zip bomb" in said["bomb"][1]
    assert said["climbs"][0] == 422 and "../../evil.cot" in said["climbs"][1]
    assert said["absolute"][0] == 422 and "absolute" in said["absolute"][1]
    assert said["not zip"][0] == 422 and "bytes are application/pdf" in said["not zip"][1]
    assert said["hash"][0] == 422 and f"SHA-256 is {sha(ok)}" in said["hash"][1]
    assert said["raw not zip"][0] == 422 and "image/png" in said["raw not zip"][1]
    assert said["oversized"] == (413, f"the body declares {300 << 10} bytes; the most is 65536")
    assert said["oversized chunked"] == (413, "the body is larger than 65536 bytes")
    assert row_counts(tak.platform) == before


def test_curl_uploads_a_mission_package_and_lists_it(tak: Marti, tmp_path: Path) -> None:
    assert CURL, "curl must be installed"
    data = make_zip(("a/a.cot", b"<event/>"))
    package = tmp_path / "patrol.zip"
    package.write_bytes(data)
    device = tak.devices["gbr-1"]
    tls = ["--cacert", str(tak.ca), "--cert", str(device.cert), "--key", str(device.key)]
    tls += ["--pass", PASSPHRASE.decode(), "--silent", "--show-error", "--fail"]
    url = f"{tak.base}/Marti/sync/missionupload?hash={sha(data)}&filename=patrol&creatorUid=gbr-1"
    put = subprocess.run(
        [CURL, *tls, "-F", f"assetfile=@{package}", url], capture_output=True, text=True, timeout=60
    )
    assert put.returncode == 0, put.stderr
    assert put.stdout == f"{tak.base}/Marti/sync/content?hash={sha(data)}"
    got = subprocess.run([CURL, *tls, put.stdout], capture_output=True, timeout=60)
    assert got.returncode == 0 and got.stdout == data
    # Made public (ATAK: "send to server"), it is listed to IDN with tool=public.
    with tak.client("gbr-1") as gbr:
        tool = gbr.put(f"/Marti/api/sync/metadata/{sha(data)}/tool", content=b"public")
        assert tool.status_code == 200, tool.text
    with tak.client("idn-1") as idn:
        found = idn.get("/Marti/sync/search", params={"tool": "public"}).json()["results"]
        assert sha(data) in {r["Hash"] for r in found}
        refused = idn.put(f"/Marti/api/sync/metadata/{sha(data)}/tool", content=b"private")
        assert refused.status_code == 403


def test_the_picture_package_holds_what_the_organization_may_see(tak: Marti) -> None:
    made: dict[str, int] = {}
    with tak.platform.unit_of_work(Principal.system_operator(), write=True) as s:
        idn_org = devices.resolve(s, "idn-1")
        assert idn_org is not None
        who = Principal.system_operator(idn_org.org_id, "IDN")
        for marking in ("public", "owner", "rel:GBR", "rel:TUR"):
            zone = zones.create_zone(
                s,
                who,
                ZoneCreate(
                    name=f"zone {marking}",
                    kind="restricted_area",
                    geometry=SQUARE,
                    valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                    releasability=marking,
                ),
                aoi=tak.platform.settings.aoi_bbox,
                fence=None,
            )
            made[marking] = zone.id

    def picture(uid: str) -> set[str]:
        with tak.client(uid) as c:
            results = c.get("/Marti/sync/search", params={"keywords": "missionpackage"}).json()
            (entry,) = [r for r in results["results"] if r["CreatorUid"] == "cmcc"]
            assert (
                c.get("/Marti/sync/missionquery", params={"hash": entry["Hash"]}).status_code == 200
            )
            got = c.get("/Marti/sync/content", params={"hash": entry["Hash"]})
        assert got.status_code == 200 and sha(got.content) == entry["Hash"]
        assert len(got.content) == entry["Size"]
        with zipfile.ZipFile(io.BytesIO(got.content)) as z:
            manifest = etree.fromstring(z.read(MANIFEST))
            entries = [c.get("zipEntry") for c in manifest.iterfind("Contents/Content")]
            assert z.namelist() == [MANIFEST, *entries]
            events = [etree.fromstring(z.read(e)) for e in entries]
        assert all(ev.tag == "event" and ev.find("point") is not None for ev in events)
        return {ev.get("uid") for ev in events}

    zone = {marking: f"cmcc-zone-{i}" for marking, i in made.items()}
    assert picture("idn-1") == set(zone.values())
    assert picture("gbr-1") == {zone["public"], zone["rel:GBR"]}
    assert picture("tur-1") == {zone["public"], zone["rel:TUR"]}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_gateway_serves_the_marti_port_and_stops_it(tak: Marti) -> None:
    settings = tak.platform.settings
    settings.cot_tcp_port, settings.cot_tak_port, settings.cot_udp_port = _free_port(), 0, 0
    settings.tak_https_port = port = _free_port()
    running = tak.run(gateway.start(tak.platform, "127.0.0.1"))
    assert running is not None and running.marti is not None and running.marti.port == port
    with httpx.Client(verify=tak.context("gbr-1")) as client:
        assert client.get(f"https://localhost:{port}/Marti/api/version").text == marti.SERVER
    tak.run(running.stop())
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    settings.tak_https_port = 0
    assert tak.run(marti.start(tak.platform, "127.0.0.1")) is None
