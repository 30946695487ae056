"""Certificate enrollment on the gateway's HTTPS port, end to end: `cmcc serve` with a CA,
clients over real TLS that trust only that CA. A device's request made here (as ATAK makes it)
is signed for the user's organization; a wrong password, a role without `enroll_devices` and a
device of another organization are refused and audited with nothing issued; failed sign-ins
are limited; `openssl s_client` checks the port as an independent client."""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree
from sqlalchemy import select

from cmcc.access.domain import Principal, Role
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.cot import devices
from cmcc.tak import pki
from cmcc.tak.models import TakCertificate
from tests.factories import Caller, caller, org
from tests.serving import free_port, served
from tests.tak_fixtures import with_ca

pytestmark = pytest.mark.e2e
PASSWORD = "correct horse battery"


@dataclass
class Enrolling:
    url: str
    base: str  # the API's
    log: Path
    port: int
    platform: Platform
    ca_pem: bytes
    ca_file: Path
    staff: Caller
    donor: Caller

    def client(self) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return httpx.Client(base_url=self.url, verify=context, timeout=30)


def _start(platform: Platform, tmp_path: Path, **env: str) -> Iterator[Enrolling]:
    with_ca(platform, tmp_path)
    staff = caller(platform, "IDN", Role.STAFF_OFFICER, password=PASSWORD)
    donor = caller(platform, "IDN", Role.DONOR, password=PASSWORD)
    org(platform, "USA")
    with operator_session(platform, write=True, actor="system:test") as session:
        devices.register(session, "usa-phone-1", "USA")
        ca_pem = pki.authority_pem(session)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(ca_pem)
    port = free_port()
    extra = {"CMCC_COT_TCP_PORT": str(free_port()), "CMCC_TAK_ENROLL_PORT": str(port), **env}
    with served(platform, tmp_path, host="127.0.0.1", extra_env=extra) as (base, log):
        url = f"https://127.0.0.1:{port}"
        yield Enrolling(url, base, log, port, platform, ca_pem, ca_file, staff, donor)


@pytest.fixture
def enrolling(platform: Platform, tmp_path: Path) -> Iterator[Enrolling]:
    yield from _start(platform, tmp_path)


def _csr(cn: str = "someone") -> tuple[rsa.RSAPrivateKey, x509.CertificateSigningRequest]:
    """A request as ATAK makes it: RSA, CN = the user name, O and OU from the config."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FAKE"),
        ]
    )
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return key, csr


def _atak_body(csr: x509.CertificateSigningRequest) -> bytes:
    return base64.b64encode(csr.public_bytes(serialization.Encoding.DER))


def _certificate(bare: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(base64.b64decode(bare))


def _counts(platform: Platform) -> tuple[int, list[dict[str, Any]]]:
    """Client certificates issued, and the refusals in the audit log (their recorded changes)."""
    with platform.unit_of_work(Principal.system_operator()) as session:
        clients = select(TakCertificate.id).where(TakCertificate.kind == "client")
        issued = len(session.scalars(clients).all())
        refusals = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "refuse").order_by(AuditEntry.seq)
        ).all()
        return issued, [json.loads(e.changes) for e in refusals]


def test_a_device_enrolls_and_refusals_are_audited(enrolling: Enrolling) -> None:
    e = enrolling
    auth = (e.staff.username, PASSWORD)
    with e.client() as web:
        config = web.get("/Marti/api/tls/config", auth=auth)
        assert config.status_code == 200, config.text
        names = {
            n.get("name"): n.get("value")
            for n in etree.fromstring(config.content).iter("{*}nameEntry")
        }
        assert names["O"] == "IDN"

        key, csr = _csr(e.staff.username)
        signed = web.post(
            "/Marti/api/tls/signClient/v2",
            params={"clientUid": "ANDROID-5a1e", "version": "4.10.0"},
            content=_atak_body(csr),
            headers={"Accept": "application/json", "Content-Type": "text/plain"},
            auth=auth,
        )
        assert signed.status_code == 200, signed.text
        answer = signed.json()
        cert, ca = _certificate(answer["signedCert"]), _certificate(answer["ca0"])
        assert ca.public_bytes(serialization.Encoding.PEM) == e.ca_pem
        cert.verify_directly_issued_by(x509.load_pem_x509_certificate(e.ca_pem))
        subject = {a.oid: a.value for a in cert.subject}
        assert subject[NameOID.COMMON_NAME] == "ANDROID-5a1e"  # the server's, not the request's
        assert subject[NameOID.ORGANIZATION_NAME] == "IDN"
        assert cert.public_key() == key.public_key()

        # The same device again, as PEM, asking for XML (ATAK's older form): a new certificate.
        _key2, csr2 = _csr()
        xml = web.post(
            "/Marti/api/tls/signClient/v2?clientUID=ANDROID-5a1e",
            content=csr2.public_bytes(serialization.Encoding.PEM),
            headers={"Accept": "application/xml"},
            auth=auth,
        )
        assert xml.status_code == 200, xml.text
        root = etree.fromstring(xml.content)
        assert _certificate(root.findtext("signedCert") or "").subject == cert.subject
        # The legacy form: the certificate and the CA in a PKCS#12 (no key).
        legacy = web.post(
            "/Marti/api/tls/signClient",
            params={"clientUid": "ANDROID-5a1e"},
            content=_atak_body(csr2),
            auth=auth,
        )
        assert legacy.status_code == 200, legacy.text
        no_key, _held, certs = pkcs12.load_key_and_certificates(legacy.content, b"atakatak")
        assert no_key is None
        assert [c.subject for c in certs] == [cert.subject, ca.subject]
        for path in ("/Marti/api/tls/profile/enrollment", "/Marti/api/device/profile/enrollment"):
            assert web.get(path, params={"clientUid": "ANDROID-5a1e"}, auth=auth).status_code == 204

        with operator_session(e.platform, write=False, actor="system:test") as session:
            owner = devices.resolve(session, "ANDROID-5a1e")
            assert owner is not None and owner.org_code == "IDN"
            assert pki.device_of(session, cert.public_bytes(serialization.Encoding.DER)) == owner
        issued, refusals = _counts(e.platform)
        assert (issued, refusals) == (3, [])

        # Refused: a wrong password (401), a role without enroll_devices (403), a device of
        # another organization (403), a request that is not one (400). Nothing issued.
        def attempt(who: str, password: str, uid: str, body: bytes) -> httpx.Response:
            return web.post(
                "/Marti/api/tls/signClient/v2",
                params={"clientUid": uid},
                content=body,
                auth=(who, password),
            )

        body = _atak_body(_csr()[1])
        wrong = attempt(e.staff.username, "not the password", "ANDROID-77", body)
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Basic")
        donor = attempt(e.donor.username, PASSWORD, "ANDROID-77", body)
        assert donor.status_code == 403 and "may not enroll devices" in donor.json()["detail"]
        foreign = attempt(e.staff.username, PASSWORD, "usa-phone-1", body)
        assert foreign.status_code == 403
        assert "registered to another organization" in foreign.json()["detail"]
        bad = attempt(e.staff.username, PASSWORD, "ANDROID-77", b"hello")
        assert bad.status_code == 400 and "certificate signing request" in bad.json()["detail"]
        missing = attempt(e.staff.username, PASSWORD, "", body)
        assert missing.status_code == 400 and "clientUid" in missing.json()["detail"]

    issued, refusals = _counts(e.platform)
    assert issued == 3
    reasons = [r["reason"] for r in refusals]
    assert reasons[0] == "wrong user name or password"
    assert reasons[1] == "the user's role may not enroll devices"
    assert "registered to another organization" in reasons[2]
    assert reasons[3].startswith("bad request:") and reasons[4].startswith("bad request:")
    assert [r["username"] for r in refusals[:2]] == [e.staff.username, e.donor.username]
    with operator_session(e.platform, write=False, actor="system:test") as session:
        assert devices.resolve(session, "ANDROID-77") is None
        log = " ".join(session.scalars(select(AuditEntry.changes)).all())
    assert "not the password" not in log and PASSWORD not in log


def test_the_api_s_log_still_names_no_client(enrolling: Enrolling) -> None:
    """The enrollment server runs in the API's process: its start leaves the log of `cmcc
    serve` as it was, request lines with `-` for the client, never an address."""
    assert httpx.get(enrolling.base + "/api/v1/health/live").status_code == 200
    with enrolling.client() as web:
        web.get("/Marti/api/tls/config", auth=(enrolling.staff.username, PASSWORD))
    text = enrolling.log.read_text()
    assert '- - "GET /api/v1/health/live HTTP/1.1" 200' in text, text
    assert re.findall(r'\d+\.\d+\.\d+\.\d+:\d+ - "', text) == [], text  # no client named


def test_openssl_s_client_sees_the_ca_s_server_certificate(enrolling: Enrolling) -> None:
    """An independent client: the handshake verifies against the CA alone, and the port
    answers HTTP over it."""
    basic = base64.b64encode(f"{enrolling.staff.username}:{PASSWORD}".encode()).decode()
    request = (
        "GET /Marti/api/tls/config HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Basic {basic}\r\nConnection: close\r\n\r\n"
    )
    done = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{enrolling.port}",
            "-servername",
            "localhost",
            "-CAfile",
            str(enrolling.ca_file),
            "-verify_return_error",
            "-quiet",
        ],
        input=request.encode(),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"HTTP/1.1 200" in done.stdout
    assert b"certificateConfig" in done.stdout
    # Without the CA, the same client refuses the server.
    other = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{enrolling.port}", "-verify_return_error"],
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert other.returncode != 0


def test_openssl_and_curl_enroll_as_a_device_would(enrolling: Enrolling, tmp_path: Path) -> None:
    """A request made by `openssl req`, sent by `curl` (trusting the CA alone), and the
    certificate it gets checked by `openssl verify`: no Python on the client's side."""
    key, csr = tmp_path / "device.key", tmp_path / "device.csr"
    subprocess.run(
        [
            *("openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=curl-user"),
            *("-keyout", str(key), "-out", str(csr)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    url = (
        f"https://127.0.0.1:{enrolling.port}/Marti/api/tls/signClient/v2?clientUid=CURL-1&version=8"
    )
    sent = subprocess.run(
        [
            *("curl", "--silent", "--show-error", "--fail-with-body"),
            *(
                "--cacert",
                str(enrolling.ca_file),
                "--user",
                f"{enrolling.staff.username}:{PASSWORD}",
            ),
            *("-H", "Accept: application/json", "--data-binary", f"@{csr}", url),
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert sent.returncode == 0, sent.stderr.decode() + sent.stdout.decode()
    cert = tmp_path / "device.pem"
    der = base64.b64decode(json.loads(sent.stdout)["signedCert"])
    cert.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
    checked = subprocess.run(
        ["openssl", "verify", "-CAfile", str(enrolling.ca_file), str(cert)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0 and b": OK" in checked.stdout, checked.stderr.decode()
    subject = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-subject", "-nameopt", "RFC2253"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode()
    assert "CN=CURL-1" in subject and "O=IDN" in subject, subject


@pytest.fixture
def limited(platform: Platform, tmp_path: Path) -> Iterator[Enrolling]:
    yield from _start(  # three failures lock the name and the address
        platform,
        tmp_path,
        CMCC_SIGNIN_FREE_FAILURES="2",
        CMCC_SIGNIN_LOCKOUT_FAILURES="3",
        CMCC_SIGNIN_ADDRESS_FREE_FAILURES="2",
        CMCC_SIGNIN_ADDRESS_LOCKOUT_FAILURES="3",
    )


def test_failed_sign_ins_are_limited_per_user_and_per_address(limited: Enrolling) -> None:
    with limited.client() as web:
        for n in range(3):
            if n == 2:  # the delay after two failures passes
                time.sleep(1.1)
            r = web.get("/Marti/api/tls/config", auth=(limited.staff.username, "wrong password"))
            assert r.status_code == 401
        # The right password now: refused until the lockout ends.
        r = web.get("/Marti/api/tls/config", auth=(limited.staff.username, PASSWORD))
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) > 0
        assert "too many failed sign-ins" in r.json()["detail"]
        # Another user from the same address: the address is over its limit too.
        r = web.get("/Marti/api/tls/config", auth=(limited.donor.username, PASSWORD))
        assert r.status_code == 429
    issued, refusals = _counts(limited.platform)
    assert issued == 0 and len(refusals) == 3  # the refusals past the limit are not written
