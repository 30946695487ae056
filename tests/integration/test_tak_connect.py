"""The TAK devices page and `cmcc tak package`, on both backends: a staff officer sees the
devices of their own organization only, downloads the enrollment package and the iTAK QR code,
and makes a package with a certificate whose one-time password opens its PKCS#12 (shown once,
kept nowhere); a device of another organization, a role without `enroll_devices` and a form
without its CSRF token write nothing."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

import typer
from cryptography.hazmat.primitives.serialization import pkcs12
from fastapi.testclient import TestClient
from lxml import etree, html
from sqlalchemy import select
from typer.testing import CliRunner

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cli import tak_package
from cmcc.cli.common import operator_session
from cmcc.cot import devices
from cmcc.tak.models import TakCertificate
from tests.factories import Caller, caller, row_counts
from tests.tak_fixtures import with_ca


def _setup(platform: Platform, home: Path) -> tuple[Caller, Caller]:
    with_ca(platform, home)
    staff = caller(platform, "IDN", Role.STAFF_OFFICER)
    usa = caller(platform, "USA", Role.LIAISON_OFFICER)
    with operator_session(platform, write=True, actor="system:test") as session:
        devices.register(session, "idn-phone-1", "IDN", callsign="GARUDA-1")
        devices.register(session, "usa-phone-1", "USA", callsign="EAGLE-1")
    return staff, usa


def _get(client: TestClient, who: Caller, path: str) -> Any:
    client.cookies.set("cmcc_session", who.token)
    try:
        return client.get(path, follow_redirects=False)
    finally:
        client.cookies.clear()


def _post(client: TestClient, who: Caller, path: str, csrf: str) -> Any:
    client.cookies.set("cmcc_session", who.token)
    try:
        return client.post(path, data={"csrf_token": csrf}, follow_redirects=False)
    finally:
        client.cookies.clear()


def _csrf(doc: Any) -> str:
    return str(doc.xpath("//meta[@name='csrf-token']/@content")[0])


def _certificates(platform: Platform) -> list[TakCertificate]:
    with platform.unit_of_work(Principal.system_operator()) as session:
        return list(session.scalars(select(TakCertificate)))


def test_the_page_downloads_and_a_package_with_a_certificate(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    staff, usa = _setup(platform, tmp_path)
    answer = _get(client, staff, "/tak")
    assert answer.status_code == 200, answer.text
    doc = html.fromstring(answer.text)
    assert doc.xpath("//nav//a[@href='/tak']"), "in the navigation of those who enroll"
    shown = [c.text_content() for c in doc.xpath("//table[@id='tak-devices']//td[1]")]
    assert shown == ["idn-phone-1"]  # never another organization's device

    zipped = _get(client, staff, "/tak/connection.zip")
    assert zipped.status_code == 200
    assert zipped.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    assert "MANIFEST/manifest.xml" in names and "certs/config.pref" in names
    qr = _get(client, staff, "/tak/itak-qr.svg")
    assert qr.headers["content-type"].startswith("image/svg+xml")
    assert "CMCC,localhost,8089,SSL" in (etree.fromstring(qr.content).findtext("{*}title") or "")

    made = _post(client, staff, "/tak/devices/idn-phone-1/package", _csrf(doc))
    assert made.status_code == 200, made.text
    page = html.fromstring(made.text)
    password = page.get_element_by_id("made-password").text_content()
    href = page.get_element_by_id("made-download").get("href")
    data = base64.b64decode(href.removeprefix("data:application/zip;base64,"))
    archive = zipfile.ZipFile(io.BytesIO(data))
    store = archive.read("certs/idn-phone-1.p12")
    key, cert, _cas = pkcs12.load_key_and_certificates(store, password.encode())
    assert key is not None and cert is not None
    (issued,) = _certificates(platform)
    assert issued.device_uid == "idn-phone-1" and issued.serial == format(cert.serial_number, "x")
    with platform.unit_of_work(Principal.system_operator()) as session:
        log = " ".join(session.scalars(select(AuditEntry.changes)).all())
        actors = set(
            session.scalars(select(AuditEntry.actor).where(AuditEntry.entity == "tak_certificates"))
        )
    assert password not in log and actors == {f"{staff.username}@IDN"}
    again = _get(client, staff, "/tak")  # the password is not shown a second time
    assert password not in again.text

    # The USA's officer sees its own device only, and cannot package the IDN one.
    doc = html.fromstring(_get(client, usa, "/tak").text)
    assert [c.text_content() for c in doc.xpath("//table[@id='tak-devices']//td[1]")] == [
        "usa-phone-1"
    ]
    before = row_counts(platform)
    refused = _post(client, usa, "/tak/devices/idn-phone-1/package", _csrf(doc))
    assert refused.status_code == 404 and "not registered to your organization" in refused.text
    refused = _post(client, usa, "/tak/devices/no-such-phone/package", _csrf(doc))
    assert refused.status_code == 404
    refused = _post(client, usa, "/tak/devices/usa-phone-1/package", "forged")
    assert refused.status_code == 403
    assert row_counts(platform) == before


def test_a_role_without_enroll_devices_makes_no_certificate(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    _setup(platform, tmp_path)
    donor = caller(platform, "IDN", Role.DONOR)
    doc = html.fromstring(_get(client, donor, "/tak").text)
    assert not doc.xpath("//nav//a[@href='/tak']")
    assert not doc.xpath("//table[@id='tak-devices']//form"), "no button for a donor"
    before = row_counts(platform)
    refused = _post(client, donor, "/tak/devices/idn-phone-1/package", _csrf(doc))
    assert refused.status_code == 403 and "may not enroll_devices" in refused.text
    assert row_counts(platform) == before
    assert _get(client, donor, "/tak").status_code == 200  # reading the page is for everyone


def test_the_page_offers_each_address_of_the_gateway(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    staff, _usa = _setup(platform, tmp_path)
    platform.settings.tak_hostnames = "tak.example.org, 10.0.0.5"
    doc = html.fromstring(_get(client, staff, "/tak").text)
    assert doc.xpath("//select[@id='tak-host']/option/@value") == ["tak.example.org", "10.0.0.5"]
    doc = html.fromstring(_get(client, staff, "/tak?host=10.0.0.5").text)
    assert doc.get_element_by_id("tak-address").text_content() == "10.0.0.5"
    assert doc.get_element_by_id("enroll-package").get("href").endswith("?host=10.0.0.5")
    qr = _get(client, staff, "/tak/itak-qr.svg?host=10.0.0.5")
    assert "CMCC,10.0.0.5,8089,SSL" in (etree.fromstring(qr.content).findtext("{*}title") or "")
    zipped = _get(client, staff, "/tak/connection.zip?host=10.0.0.5")
    pref = zipfile.ZipFile(io.BytesIO(zipped.content)).read("certs/config.pref")
    assert b"10.0.0.5:8089:ssl" in pref
    # A name the server's certificate does not hold is not offered: the first name instead.
    qr = _get(client, staff, "/tak/itak-qr.svg?host=evil.example")
    assert "CMCC,tak.example.org,8089,SSL" in (
        etree.fromstring(qr.content).findtext("{*}title") or ""
    )


def test_without_a_ca_the_page_says_what_to_do(platform: Platform, client: TestClient) -> None:
    staff = caller(platform, "IDN", Role.STAFF_OFFICER)
    doc = html.fromstring(_get(client, staff, "/tak").text)
    assert "cmcc tak ca init" in doc.get_element_by_id("tak-no-ca").text_content()
    assert not doc.xpath("//*[@id='enroll-package']")


def test_cmcc_tak_package_writes_both_kinds(
    platform: Platform, tmp_path: Path, monkeypatch: Any
) -> None:
    _setup(platform, tmp_path)
    app = typer.Typer()
    tak_package.register(app)
    app.command("noop")(lambda: None)  # two commands: `package` stays a sub-command
    monkeypatch.setattr("cmcc.cli.tak_package.platform", _same(platform))
    runner = CliRunner()
    plain = tmp_path / "enroll.zip"
    done = runner.invoke(app, ["package", "idn-phone-1", "--out", str(plain)])
    assert done.exit_code == 0, done.output
    assert "enrolls with a user's name and password" in done.output
    assert len(_certificates(platform)) == 0
    entries = zipfile.ZipFile(plain).namelist()
    assert not [n for n in entries if n.endswith("idn-phone-1.p12")]

    with_cert = tmp_path / "cert.zip"
    done = runner.invoke(
        app,
        [
            "package",
            "idn-phone-1",
            "--out",
            str(with_cert),
            "--with-certificate",
            "--host",
            "tak.example.org",
        ],
    )
    assert done.exit_code == 0, done.output
    password = done.output.split("one-time password of the certificate:")[1].split()[0]
    archive = zipfile.ZipFile(with_cert)
    assert b"tak.example.org:8089:ssl" in archive.read("certs/config.pref")
    key, _cert, _cas = pkcs12.load_key_and_certificates(
        archive.read("certs/idn-phone-1.p12"), password.encode()
    )
    assert key is not None
    assert with_cert.stat().st_mode & 0o777 == 0o600
    assert [c.device_uid for c in _certificates(platform)] == ["idn-phone-1"]

    again = runner.invoke(app, ["package", "idn-phone-1", "--out", str(with_cert)])
    assert again.exit_code == 1 and "exists" in again.output
    unknown = runner.invoke(app, ["package", "nobody", "--out", str(tmp_path / "x.zip")])
    assert unknown.exit_code == 1 and "not registered" in unknown.output
    assert not (tmp_path / "x.zip").exists()


def _same(platform: Platform) -> Any:
    """`cmcc.cli.common.platform` answering the test's platform (and not disposing of it)."""
    from contextlib import contextmanager

    @contextmanager
    def use(_role: str = "cli") -> Any:
        yield platform

    return use
