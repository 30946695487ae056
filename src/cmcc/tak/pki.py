"""The installation's certificate authority: client certificates for TAK devices, the gateway's
server certificate, revocation and the revocation list.

Every function takes a session of the platform's unit of work: what it writes is audited. The
CA's private key is stored encrypted (PKCS#8, the best encryption `cryptography` offers) under
the CA passphrase: CMCC_TAK_CA_PASSPHRASE, or else one that `init_authority` generates into
CMCC_HOME/tak-ca.passphrase (mode 0600). A device's private key is never stored: it is handed
to the caller (`Issued.key`), who writes it out encrypted (`encrypted_key_pem`).

A certificate is bound to a registered device (CN = device uid, O = organization code) and
its organization; the identity of a TLS peer is the device its certificate is bound to in the
database (serial and fingerprint: `device_of`), never the text of its subject.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import ipaddress
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cmcc.access.models import Organization
from cmcc.access.policy import release_filter
from cmcc.bootstrap import settings_of
from cmcc.config import Settings
from cmcc.core.clock import utcnow
from cmcc.core.errors import Conflict, InvalidInput, NotFound
from cmcc.core.releasability import Viewer
from cmcc.cot.devices import CotDevice, DeviceOwner
from cmcc.tak.models import TakAuthority, TakCertificate

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PASSPHRASE_FILE = "tak-ca.passphrase"  # noqa: S105 - a file name
CLIENT_KEY_BITS = 2048  # ATAK, iTAK and WinTAK all accept RSA 2048
CA_KEY_BITS = 3072
SERVER_HOLDER = "CMCC"  # the organization the gateway's server certificate belongs to
CLOCK_SKEW = dt.timedelta(minutes=10)  # a certificate is valid from a little before its issue
CRL_DAYS = 7  # next_update of a CRL; cmcc.tak.tls signs a new one well before
# The reasons of RFC 5280 a revocation may give, by the names the command line uses.
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
}


@dataclass(frozen=True)
class Issued:
    """A certificate just issued with a key made here: the key exists only in this object."""

    certificate: TakCertificate
    cert_pem: bytes
    key: PrivateKey


# --- the authority ----------------------------------------------------------------------------


def passphrase_path(settings: Settings) -> Path:
    return settings.home / PASSPHRASE_FILE


def _passphrase(settings: Settings, protection: str) -> bytes:
    """The CA passphrase, from where the CA was created with it."""
    if protection == "setting":
        if settings.tak_ca_passphrase is None:
            raise Conflict(
                "the TAK CA's key was encrypted with CMCC_TAK_CA_PASSPHRASE, which is not set"
            )
        return settings.tak_ca_passphrase.get_secret_value().encode()
    path = passphrase_path(settings)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        raise Conflict(
            f"the TAK CA's passphrase file {path} is missing (restore it from the backup, "
            "or set CMCC_HOME to the folder that holds it)"
        ) from None


def _new_passphrase(settings: Settings) -> tuple[bytes, str]:
    """The passphrase for a new CA key, and where it is kept ("setting" or "file")."""
    if settings.tak_ca_passphrase is not None:
        return settings.tak_ca_passphrase.get_secret_value().encode(), "setting"
    path = passphrase_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():  # kept from an earlier CA of this home: a backup may need it
        return path.read_bytes().strip(), "file"
    phrase = secrets.token_urlsafe(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(phrase + b"\n")
    return phrase, "file"


def authority(session: Session) -> TakAuthority:
    found = session.get(TakAuthority, 1)
    if found is None:
        raise NotFound("there is no TAK certificate authority yet: run `cmcc tak ca init`")
    return found


def init_authority(session: Session, *, common_name: str, lifetime_days: int) -> TakAuthority:
    """Create the installation's CA (once: a second call is refused)."""
    common_name = common_name.strip()
    if not common_name or len(common_name) > 64:
        raise InvalidInput.field("common_name", "give the CA's name (1-64 characters)")
    if lifetime_days < 1:
        raise InvalidInput.field("lifetime_days", "give a lifetime of at least one day")
    existing = session.get(TakAuthority, 1)
    if existing is not None:
        raise Conflict(
            f"the TAK certificate authority exists already ({existing.common_name}, created "
            f"{existing.created_at:%Y-%m-%d}); it is created once per installation"
        )
    settings = settings_of(session)
    phrase, protection = _new_passphrase(settings)
    key = rsa.generate_private_key(public_exponent=65537, key_size=CA_KEY_BITS)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, SERVER_HOLDER),
        ]
    )
    now = utcnow()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=lifetime_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    row = TakAuthority(
        id=1,
        common_name=common_name,
        serial=_hex(cert.serial_number),
        fingerprint=_fingerprint(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
        key_pem=encrypted_key_pem(key, phrase).decode(),
        key_protection=protection,
    )
    session.add(row)
    session.flush()
    return row


def authority_pem(session: Session) -> bytes:
    """The CA certificate (PEM): the truststore every device and client is given."""
    return authority(session).cert_pem.encode()


def _ca(session: Session) -> tuple[x509.Certificate, PrivateKey]:
    row = authority(session)
    phrase = _passphrase(settings_of(session), row.key_protection)
    try:
        key = _open_key(row.key_pem, phrase)
    except ValueError:
        raise Conflict("the TAK CA passphrase does not open the CA's key") from None
    return x509.load_pem_x509_certificate(row.cert_pem.encode()), key


@functools.lru_cache(maxsize=4)
def _open_key(key_pem: str, passphrase: bytes) -> PrivateKey:
    """The CA's key opened, kept for the process: opening it checks the RSA key, which costs
    more than signing (0.2 s on a busy machine)."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=passphrase)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return key


# --- issuing ----------------------------------------------------------------------------------


def issue_for_device(
    session: Session,
    device_uid: str,
    *,
    lifetime_days: float | None = None,
    valid_from: dt.datetime | None = None,
    replaces: TakCertificate | None = None,
) -> Issued:
    """A client certificate for a registered device, with a new RSA key made here.
    `valid_from` (default now, less a little clock skew) exists for tests of expiry."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=CLIENT_KEY_BITS)
    row, pem = _issue_client(
        session, device_uid, key.public_key(), lifetime_days, valid_from, replaces
    )
    return Issued(row, pem, key)


def sign_request(
    session: Session,
    csr_pem: bytes,
    device_uid: str,
    *,
    lifetime_days: float | None = None,
    valid_from: dt.datetime | None = None,
) -> tuple[TakCertificate, bytes]:
    """Sign a device's certificate signing request (PEM, DER, or the base64 of the DER without
    PEM's lines, as some TAK clients send it). Only its public key is
    taken: the subject (CN = device uid, O = organization code), the lifetime and the
    extensions are the server's, whatever the request asks for."""
    csr = _load_csr(csr_pem)
    if not csr.is_signature_valid:
        raise InvalidInput.field("csr", "the request's signature does not match its key")
    public = csr.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < 2048:
            raise InvalidInput.field("csr", "an RSA key needs at least 2048 bits")
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.key_size < 256:
            raise InvalidInput.field("csr", "an EC key needs a curve of at least 256 bits")
    else:
        raise InvalidInput.field("csr", "the key must be RSA or EC")
    return _issue_client(session, device_uid, public, lifetime_days, valid_from, None)


def _load_csr(data: bytes) -> x509.CertificateSigningRequest:
    text = data.strip()  # for the text forms only: DER may end in a byte that reads as a space
    try:
        if text.startswith(b"-----"):
            return x509.load_pem_x509_csr(text)
        if re.fullmatch(rb"[A-Za-z0-9+/=\s]+", text):
            return x509.load_der_x509_csr(base64.b64decode(b"".join(text.split()), validate=True))
        return x509.load_der_x509_csr(data)
    except (ValueError, binascii.Error) as exc:
        raise InvalidInput.field("csr", f"not a certificate signing request ({exc})") from None


def _issue_client(
    session: Session,
    device_uid: str,
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    lifetime_days: float | None,
    valid_from: dt.datetime | None,
    replaces: TakCertificate | None,
) -> tuple[TakCertificate, bytes]:
    found = session.execute(
        select(CotDevice, Organization.code)
        .join(Organization, Organization.id == CotDevice.org_id)
        .where(CotDevice.uid == device_uid.strip())
    ).one_or_none()
    if found is None:
        raise NotFound(
            f"device {device_uid!r} is not registered: register it first (`cmcc cot device add`)"
        )
    device, org_code = found
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, device.uid[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_code),
        ]
    )
    days = settings_of(session).tak_cert_days if lifetime_days is None else lifetime_days
    return _issue(
        session,
        kind="client",
        subject=subject,
        public=public,
        days=days,
        valid_from=valid_from,
        org_id=device.org_id,
        device_uid=device.uid,
        replaces=replaces,
    )


def server_certificate(session: Session, *, min_days_left: float = 30) -> tuple[bytes, bytes]:
    """The gateway's server certificate for CMCC_TAK_HOSTNAMES and its key (PEM, encrypted
    under the CA passphrase): the newest valid one issued for these names with at least
    `min_days_left` to run, else a new one."""
    settings = settings_of(session)
    names = settings.tak_hostname_list
    if not names:
        raise InvalidInput.field("CMCC_TAK_HOSTNAMES", "name at least one host or address")
    wanted = ",".join(names)
    row = _server_row(session, wanted, min_days_left)
    if row is None:
        # One issuer at a time: the gateway's ports (and processes) starting together lock the
        # CA's row (PostgreSQL; SQLite's writers wait for each other anyway), then look again.
        session.get(TakAuthority, 1, with_for_update=True)
        row = _server_row(session, wanted, min_days_left)
    if row is None or row.key_pem is None:
        authority_row = authority(session)
        phrase = _passphrase(settings, authority_row.key_protection)
        key = rsa.generate_private_key(public_exponent=65537, key_size=CLIENT_KEY_BITS)
        holder = session.scalar(select(Organization.id).where(Organization.code == SERVER_HOLDER))
        if holder is None:
            raise NotFound(f"organization {SERVER_HOLDER} not found (run `cmcc init`)")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64]),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, SERVER_HOLDER),
            ]
        )
        row, _pem = _issue(
            session,
            kind="server",
            subject=subject,
            public=key.public_key(),
            days=min(max(settings.tak_cert_days, 2 * min_days_left), 825),
            valid_from=None,
            org_id=holder,
            hostnames=names,
            key_pem=encrypted_key_pem(key, phrase).decode(),
        )
    return row.cert_pem.encode(), (row.key_pem or "").encode()


def _server_row(session: Session, hostnames: str, min_days_left: float) -> TakCertificate | None:
    return session.scalars(
        select(TakCertificate)
        .where(
            TakCertificate.kind == "server",
            TakCertificate.revoked_at.is_(None),
            TakCertificate.key_pem.is_not(None),
            TakCertificate.hostnames == hostnames,
            TakCertificate.not_after > utcnow() + dt.timedelta(days=min_days_left),
        )
        .order_by(TakCertificate.not_after.desc())
        .limit(1)
    ).first()


def ca_passphrase(session: Session) -> bytes:
    """The CA passphrase (it also opens the server certificate's key): for cmcc.tak.tls."""
    return _passphrase(settings_of(session), authority(session).key_protection)


def _issue(
    session: Session,
    *,
    kind: str,
    subject: x509.Name,
    public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    days: float,
    valid_from: dt.datetime | None,
    org_id: int,
    device_uid: str | None = None,
    hostnames: tuple[str, ...] = (),
    replaces: TakCertificate | None = None,
    key_pem: str | None = None,
) -> tuple[TakCertificate, bytes]:
    if days <= 0:
        raise InvalidInput.field("lifetime_days", "give a lifetime of more than zero days")
    ca_cert, ca_key = _ca(session)
    start = valid_from if valid_from is not None else utcnow() - CLOCK_SKEW
    end = min(start + dt.timedelta(days=days), ca_cert.not_valid_after_utc)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if kind == "client" else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(_serial())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=isinstance(public, rsa.RSAPublicKey),
                data_encipherment=False,
                key_agreement=isinstance(public, ec.EllipticCurvePublicKey),
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if hostnames:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(h) for h in hostnames]), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    row = TakCertificate(
        serial=_hex(cert.serial_number),
        kind=kind,
        device_uid=device_uid,
        owner_org_id=org_id,
        releasability="owner",
        subject=cert.subject.rfc4514_string(),
        fingerprint=_fingerprint(cert),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        cert_pem=pem.decode(),
        hostnames=",".join(hostnames) or None,
        key_pem=key_pem,
        replaces_id=replaces.id if replaces is not None else None,
    )
    session.add(row)
    session.flush()
    return row, pem


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


# --- revocation -------------------------------------------------------------------------------


def normalise_serial(serial: str) -> str:
    """A serial as stored (lower-case hex, no leading zeros) from what a person types:
    `4F:A0:...`, `0x4fa0...`, upper or lower case."""
    text = serial.strip().lower().replace(":", "").removeprefix("0x")
    try:
        return _hex(int(text, 16))
    except ValueError:
        raise InvalidInput.field("serial", f"{serial!r} is not a serial number in hex") from None


def certificate(session: Session, serial: str) -> TakCertificate:
    found = session.scalars(
        select(TakCertificate).where(TakCertificate.serial == normalise_serial(serial))
    ).one_or_none()
    if found is None:
        raise NotFound(f"no certificate with serial {serial}")
    return found


def revoke(session: Session, serial: str, reason: str) -> TakCertificate:
    """Revoke a certificate: the next revocation list names it, and the gateway refuses it at
    the handshake from its next refresh on."""
    if reason not in REASONS:
        raise InvalidInput.field("reason", f"one of {', '.join(REASONS)}")
    row = certificate(session, serial)
    if row.revoked_at is not None:
        raise Conflict(f"certificate {row.serial} was revoked already ({row.revocation_reason})")
    row.revoked_at = utcnow()
    row.revocation_reason = reason
    session.flush()
    return row


def revoke_device(session: Session, device_uid: str, reason: str) -> list[TakCertificate]:
    """Revoke every certificate of a device that is not revoked yet."""
    rows = session.scalars(
        select(TakCertificate).where(
            TakCertificate.device_uid == device_uid, TakCertificate.revoked_at.is_(None)
        )
    ).all()
    return [revoke(session, row.serial, reason) for row in rows]


def renew(session: Session, device_uid: str, *, lifetime_days: float | None = None) -> Issued:
    """A new certificate for a device; its certificates still valid are then revoked as
    superseded (the newest of them is named as the one the new one replaces)."""
    current = session.scalars(
        select(TakCertificate)
        .where(TakCertificate.device_uid == device_uid, TakCertificate.revoked_at.is_(None))
        .order_by(TakCertificate.not_after.desc())
    ).all()
    issued = issue_for_device(
        session,
        device_uid,
        lifetime_days=lifetime_days,
        replaces=current[0] if current else None,
    )
    for row in current:
        revoke(session, row.serial, "superseded")
    return issued


def revocation_state(session: Session) -> tuple[int, dt.datetime | None]:
    """How many certificates are revoked, and the latest revocation: cmcc.tak.tls signs a new
    list only when this changes (or the list gets old)."""
    count, latest = session.execute(
        select(func.count(), func.max(TakCertificate.revoked_at)).where(
            TakCertificate.revoked_at.is_not(None)
        )
    ).one()
    return int(count), latest


def crl_pem(session: Session) -> bytes:
    """The revocation list (PEM) signed by the CA: every revoked certificate, valid for
    CRL_DAYS."""
    ca_cert, ca_key = _ca(session)
    now = utcnow()
    rows = session.execute(
        select(TakCertificate.serial, TakCertificate.revoked_at, TakCertificate.revocation_reason)
        .where(TakCertificate.revoked_at.is_not(None))
        .order_by(TakCertificate.revoked_at)
    ).all()
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=1))
        .next_update(now + dt.timedelta(days=CRL_DAYS))
        .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    for serial, revoked_at, reason in rows:
        entry = x509.RevokedCertificateBuilder().serial_number(int(serial, 16))
        assert revoked_at is not None  # selected so
        entry = entry.revocation_date(revoked_at)
        flag = REASONS.get(reason or "", x509.ReasonFlags.unspecified)
        if flag is not x509.ReasonFlags.unspecified:
            entry = entry.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.PEM)


# --- identity ---------------------------------------------------------------------------------


def device_of(session: Session, cert_der: bytes) -> DeviceOwner | None:
    """The registered device a presented client certificate is bound to: None when the
    certificate is unknown (serial and fingerprint), revoked, expired or not yet valid, or
    its device is no longer registered to the certificate's organization."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError:
        return None
    now = utcnow()
    row = session.execute(
        select(CotDevice.uid, CotDevice.org_id, Organization.code, CotDevice.pledge_id)
        .join(TakCertificate, TakCertificate.device_uid == CotDevice.uid)
        .join(Organization, Organization.id == CotDevice.org_id)
        .where(
            TakCertificate.serial == _hex(cert.serial_number),
            TakCertificate.fingerprint == _fingerprint(cert),
            TakCertificate.kind == "client",
            TakCertificate.revoked_at.is_(None),
            TakCertificate.not_before <= now,
            TakCertificate.not_after > now,
            TakCertificate.owner_org_id == CotDevice.org_id,
        )
    ).one_or_none()
    if row is None:
        return None
    return DeviceOwner(row.uid, row.org_id, row.code, row.pledge_id)


# --- lists ------------------------------------------------------------------------------------


def list_certificates(
    session: Session, viewer: Viewer, *, device_uid: str | None = None
) -> list[tuple[TakCertificate, str]]:
    """The certificates `viewer` may see (its organization's; the operator all), with their
    organization's code, newest first."""
    stmt = (
        select(TakCertificate, Organization.code)
        .join(Organization, Organization.id == TakCertificate.owner_org_id)
        .where(release_filter(TakCertificate, viewer))
        .order_by(TakCertificate.not_before.desc(), TakCertificate.id.desc())
    )
    if device_uid is not None:
        stmt = stmt.where(TakCertificate.device_uid == device_uid)
    return [(row, code) for row, code in session.execute(stmt)]


# --- helpers ----------------------------------------------------------------------------------


def encrypted_key_pem(key: PrivateKey, passphrase: bytes) -> bytes:
    """A private key as an encrypted PEM (PKCS#8); `openssl` opens it with the passphrase."""
    if not passphrase:
        raise InvalidInput.field("passphrase", "a key is written out only encrypted")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def _serial() -> int:
    """A random positive 128-bit serial number (RFC 5280: at most 20 octets)."""
    return secrets.randbits(128) or 1


def _hex(number: int) -> str:
    return format(number, "x")


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()
