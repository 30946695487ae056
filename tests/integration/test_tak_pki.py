"""The TAK certificate authority (cmcc.tak.pki) on both backends: issuing a device's client
certificate, signing a device's CSR (its subject ignored), revocation and the revocation list,
the identity of a presented certificate, and what is written to the audit log."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Principal
from cmcc.audit.models import AuditEntry
from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.core.errors import Conflict, InvalidInput, NotFound
from cmcc.core.releasability import Viewer
from cmcc.cot import devices
from cmcc.tak import pki
from cmcc.tak.models import TakCertificate
from tests.factories import org
from tests.tak_fixtures import with_ca


def _op(platform: Platform, *, write: bool = True) -> AbstractContextManager[Session]:
    """A unit of work of the operator, whose domain errors the test sees as raised."""
    return platform.unit_of_work(Principal.system_operator(), write=write)


def _der(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


@pytest.fixture
def ca(platform: Platform, tmp_path: Path) -> Platform:
    """The platform with a CA and two registered devices of two nations."""
    org(platform, "IDN")
    org(platform, "FRA")
    with_ca(platform, tmp_path)
    with operator_session(platform, write=True, actor="system:test") as session:
        devices.register(session, "idn-1", "IDN", callsign="GARUDA-1")
        devices.register(session, "fra-1", "FRA", callsign="MISTRAL-1")
    return platform


def test_a_device_certificate_is_bound_to_the_device_and_its_organization(ca: Platform) -> None:
    with _op(ca) as session:
        issued = pki.issue_for_device(session, "idn-1")
        ca_pem = pki.authority_pem(session)
    cert = x509.load_pem_x509_certificate(issued.cert_pem)
    ca_cert = x509.load_pem_x509_certificate(ca_pem)
    cert.verify_directly_issued_by(ca_cert)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "idn-1"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "IDN"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert isinstance(issued.key, rsa.RSAPrivateKey) and issued.key.key_size == 2048
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=365)
    assert issued.certificate.serial == format(cert.serial_number, "x")
    with _op(ca, write=False) as session:
        owner = pki.device_of(session, _der(issued.cert_pem))
    assert owner is not None and (owner.uid, owner.org_code) == ("idn-1", "IDN")


def test_an_unregistered_device_gets_no_certificate(ca: Platform) -> None:
    with (
        pytest.raises(NotFound, match="not registered"),
        _op(ca) as session,
    ):
        pki.issue_for_device(session, "nobody-1")


def test_the_authority_is_created_once(ca: Platform) -> None:
    with (
        pytest.raises(Conflict, match="exists already"),
        _op(ca) as session,
    ):
        pki.init_authority(session, common_name="Another", lifetime_days=30)


def test_a_signed_request_takes_the_key_and_never_the_subject(ca: Platform) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.COMMON_NAME, "fra-1"),
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "CMCC"),
                ]
            )
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    with _op(ca) as session:
        row, pem = pki.sign_request(session, csr.public_bytes(serialization.Encoding.PEM), "idn-1")
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.rfc4514_string() == "O=IDN,CN=idn-1"
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert row.device_uid == "idn-1"
    with _op(ca, write=False) as session:
        owner = pki.device_of(session, _der(pem))
    assert owner is not None and owner.uid == "idn-1"


def test_a_request_as_der_or_bare_base64_is_read(ca: Platform) -> None:
    """Some TAK clients send the request's base64 without PEM's lines."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "anything")]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    bare = base64.encodebytes(der)  # base64 in lines of 76, no header
    with _op(ca) as session:
        for body in (der, bare):
            _row, pem = pki.sign_request(session, body, "fra-1")
            cert = x509.load_pem_x509_certificate(pem)
            assert cert.subject.rfc4514_string() == "O=FRA,CN=fra-1"


def test_a_request_that_is_not_one_is_refused(ca: Platform) -> None:
    with (
        pytest.raises(InvalidInput, match="csr"),
        _op(ca) as session,
    ):
        pki.sign_request(session, b"-----BEGIN CERTIFICATE REQUEST-----\nxx\n", "idn-1")
    for body in (b"bm90IGEgcmVxdWVzdA==", b"\x30\x03\x02\x01\x00"):
        with pytest.raises(InvalidInput, match="csr"), _op(ca) as session:
            pki.sign_request(session, body, "idn-1")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(small, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )
    with pytest.raises(InvalidInput, match="2048"), _op(ca) as session:
        pki.sign_request(session, weak, "idn-1")


def test_revoked_expired_and_foreign_certificates_name_no_device(ca: Platform) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    with _op(ca) as session:
        revoked = pki.issue_for_device(session, "idn-1")
        expired = pki.issue_for_device(session, "idn-1", lifetime_days=1, valid_from=long_ago)
        pki.revoke(session, revoked.certificate.serial, "key_compromise")
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idn-1")])
    now = dt.datetime.now(dt.UTC)
    foreign = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(foreign_key.public_key())
        .serial_number(int(revoked.certificate.serial, 16))  # even the same serial
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(foreign_key, hashes.SHA256())
    )
    with _op(ca, write=False) as session:
        assert pki.device_of(session, _der(revoked.cert_pem)) is None
        assert pki.device_of(session, _der(expired.cert_pem)) is None
        assert pki.device_of(session, foreign.public_bytes(serialization.Encoding.DER)) is None
        assert pki.device_of(session, b"not a certificate") is None


def test_a_device_moved_to_another_organization_loses_its_certificate(ca: Platform) -> None:
    with _op(ca) as session:
        issued = pki.issue_for_device(session, "idn-1")
        devices.register(session, "idn-1", "FRA")
    with _op(ca, write=False) as session:
        assert pki.device_of(session, _der(issued.cert_pem)) is None


def test_the_revocation_list_names_every_revoked_certificate(ca: Platform) -> None:
    with _op(ca) as session:
        a = pki.issue_for_device(session, "idn-1").certificate.serial
        b = pki.issue_for_device(session, "fra-1").certificate.serial
        kept = pki.issue_for_device(session, "fra-1").certificate.serial
        pki.revoke(session, a.upper(), "key_compromise")  # as a person types it
        pki.revoke_device(session, "fra-1", "cessation_of_operation")
        crl = x509.load_pem_x509_crl(pki.crl_pem(session))
        ca_cert = x509.load_pem_x509_certificate(pki.authority_pem(session))
    assert crl.is_signature_valid(ca_cert.public_key())  # type: ignore[arg-type]
    assert crl.next_update_utc is not None and crl.next_update_utc > dt.datetime.now(dt.UTC)
    assert {format(r.serial_number, "x") for r in crl} == {a, b, kept}
    reasons = {
        format(r.serial_number, "x"): r.extensions.get_extension_for_class(x509.CRLReason).value
        for r in crl
    }
    assert reasons[a].reason is x509.ReasonFlags.key_compromise


def test_revoking_twice_or_for_no_reason_is_refused(ca: Platform) -> None:
    with _op(ca) as session:
        serial = pki.issue_for_device(session, "idn-1").certificate.serial
        pki.revoke(session, serial, "superseded")
    with (
        pytest.raises(Conflict, match="revoked already"),
        _op(ca) as session,
    ):
        pki.revoke(session, serial, "superseded")
    with (
        pytest.raises(InvalidInput, match="reason"),
        _op(ca) as session,
    ):
        pki.revoke(session, serial, "because")


def test_renewal_issues_first_then_supersedes(ca: Platform) -> None:
    with _op(ca) as session:
        old = pki.issue_for_device(session, "idn-1").certificate
        new = pki.renew(session, "idn-1")
    with _op(ca, write=False) as session:
        rows = {
            r.serial: r
            for r in session.scalars(
                select(TakCertificate).where(TakCertificate.device_uid == "idn-1")
            )
        }
        assert pki.device_of(session, _der(new.cert_pem)) is not None
    assert rows[old.serial].revocation_reason == "superseded"
    assert rows[new.certificate.serial].revoked_at is None
    assert rows[new.certificate.serial].replaces_id == old.id


def test_issuing_and_revoking_are_audited_without_keys(ca: Platform) -> None:
    with _op(ca) as session:
        serial = pki.issue_for_device(session, "idn-1").certificate.serial
        pki.revoke(session, serial, "key_compromise")
    with ca.unit_of_work(Principal.system_operator()) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity.in_(["tak_certificates", "tak_authorities"]))
        ).all()
    actions = [(e.entity, e.action) for e in entries]
    assert ("tak_authorities", "create") in actions
    assert ("tak_certificates", "create") in actions
    assert ("tak_certificates", "update") in actions
    with _op(ca, write=False) as session:
        assert pki.authority(session).key_pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY")
    authority = next(e for e in entries if e.entity == "tak_authorities")
    assert json.loads(authority.changes)["key_pem"] == "<redacted>"
    revoked = next(e for e in entries if e.action == "update")
    assert json.loads(revoked.changes)["revocation_reason"] == [None, "key_compromise"]


def test_the_server_certificate_is_issued_once_and_its_key_kept_encrypted(ca: Platform) -> None:
    with _op(ca) as session:
        cert_pem, key_pem = pki.server_certificate(session)
        again = pki.server_certificate(session)
        phrase = pki.ca_passphrase(session)
    assert again == (cert_pem, key_pem)  # the same one for every process
    assert b"ENCRYPTED PRIVATE KEY" in key_pem
    key = serialization.load_pem_private_key(key_pem, phrase)
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    ca.settings.tak_hostnames = "tak.example.org"  # the names changed: a new one
    with _op(ca) as session:
        renamed, _key = pki.server_certificate(session)
    sans = x509.load_pem_x509_certificate(renamed).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert sans.value.get_values_for_type(x509.DNSName) == ["tak.example.org"]
    with _op(ca, write=False) as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "tak_certificates")
        ).all()
    assert len(entries) == 2
    assert all(json.loads(e.changes)["key_pem"] == "<redacted>" for e in entries)


def test_an_organization_lists_only_its_own_certificates(ca: Platform) -> None:
    with _op(ca) as session:
        pki.issue_for_device(session, "idn-1")
        pki.issue_for_device(session, "fra-1")
        ids = {
            code: session.scalar(
                select(TakCertificate.owner_org_id).where(TakCertificate.device_uid == uid)
            )
            for code, uid in (("IDN", "idn-1"), ("FRA", "fra-1"))
        }
    idn = Viewer(org_id=ids["IDN"], org_code="IDN", is_member=True)
    with ca.unit_of_work(Principal.system_operator()) as session:
        seen = [row.device_uid for row, _code in pki.list_certificates(session, idn)]
        everything = pki.list_certificates(session, Principal.system_operator().viewer)
    assert seen == ["idn-1"]
    assert {row.device_uid for row, _ in everything} == {"idn-1", "fra-1"}


def test_the_passphrase_file_is_private(ca: Platform, tmp_path: Path) -> None:
    path = pki.passphrase_path(ca.settings)
    assert path == tmp_path / "tak-ca.passphrase"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_bytes().strip()) >= 32


def test_ports_starting_together_share_one_server_certificate(ca: Platform) -> None:
    """Three ports (or processes) asking at once: one certificate is issued, all get it."""
    start = threading.Barrier(3)

    def ask() -> tuple[bytes, bytes]:
        start.wait(30)
        with _op(ca) as session:
            return pki.server_certificate(session)

    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(lambda _: ask(), range(3)))
    assert got[0] == got[1] == got[2]
    with _op(ca, write=False) as session:
        servers = session.scalars(select(TakCertificate).where(TakCertificate.kind == "server"))
        assert len(servers.all()) == 1
