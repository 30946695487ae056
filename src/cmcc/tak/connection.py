"""Connection data packages: the zip a TAK device imports to connect to the gateway over TLS
(8089), and the text of the QR code iTAK scans to connect.

A package holds, as TAK Server's do:

- `MANIFEST/manifest.xml`: a mission package manifest, version 2 (`uid`, `name`,
  `onReceiveDelete`: the device deletes the zip once imported), naming every entry;
- `certs/config.pref`: the connection (`connectString0` = `host:8089:ssl`) and where the
  certificates are (`caLocation`, `caPassword`; `certificateLocation` with a certificate);
- `certs/truststore-<host>.p12`: the installation's CA certificate, as PKCS#12 under a password
  written in the preferences (it protects nothing secret: a CA certificate is public);
- with a certificate only, `certs/<device>.p12`: the device's certificate and private key,
  encrypted under a one-time password that is returned once and kept nowhere. It is not in
  the package: whoever copies the zip has no key without it.

Without a certificate the package is the enrollment kind: the device asks its user for a CMCC
user name and password and enrolls on port 8446 (`cmcc.tak.enrollment`). It holds no secret.

The PKCS#12 files use 3DES with SHA-1, the one encryption every TAK client opens (iOS before
17 and older Android versions open no AES PKCS#12).
"""

from __future__ import annotations

import io
import re
import secrets
import uuid
import zipfile
from dataclasses import dataclass

import segno
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from cmcc.access.domain import Permission, Principal, require
from cmcc.config import Settings
from cmcc.core.errors import NotFound
from cmcc.cot.devices import CotDevice
from cmcc.tak import pki
from cmcc.tak.pki import PrivateKey

# The letters of one-time passwords: nothing to mistake for another.
PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet
STRING, BOOLEAN, INTEGER = (
    "class java.lang.String",
    "class java.lang.Boolean",
    "class java.lang.Integer",
)


@dataclass(frozen=True)
class Server:
    """Where devices connect: the name they show for it, the host they reach, the TLS port."""

    name: str
    host: str
    port: int

    @property
    def connect_string(self) -> str:
        return f"{self.host}:{self.port}:ssl"

    @property
    def slug(self) -> str:
        """The host in a file name."""
        return re.sub(r"[^A-Za-z0-9.-]+", "-", self.host).strip("-") or "cmcc"


@dataclass(frozen=True)
class Package:
    """A package made: the zip, its file name, and, with a certificate, the one-time password
    of the device's PKCS#12 and the certificate's serial."""

    zip: bytes
    filename: str
    password: str | None = None
    serial: str | None = None


def server_of(settings: Settings, host: str | None = None) -> Server:
    """The gateway as devices reach it: `host`, or the first of CMCC_TAK_HOSTNAMES; the TLS
    port CMCC_COT_TLS_PORT (8089 until it is set)."""
    names = settings.tak_hostname_list
    chosen = (host or (names[0] if names else "")).strip()
    if not chosen:
        raise NotFound("no host name for the TAK gateway: set CMCC_TAK_HOSTNAMES")
    port = int(getattr(settings, "cot_tls_port", 0) or 8089)
    return Server("CMCC", chosen, port)


def one_time_password(groups: int = 4) -> str:
    """Four groups of four letters and digits (about 79 bits), easy to read out and type."""
    return "-".join(
        "".join(secrets.choice(PASSWORD_LETTERS) for _ in range(4)) for _ in range(groups)
    )


def truststore(ca_pem: bytes, password: str) -> bytes:
    """The CA certificate as PKCS#12."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    return pkcs12.serialize_key_and_certificates(
        b"cmcc-ca", None, None, [ca], _encryption(password)
    )


def client_store(cert_pem: bytes, key: PrivateKey, ca_pem: bytes, uid: str, password: str) -> bytes:
    """The device's certificate, its key and the CA as PKCS#12."""
    return pkcs12.serialize_key_and_certificates(
        uid.encode(),
        key,
        x509.load_pem_x509_certificate(cert_pem),
        [x509.load_pem_x509_certificate(ca_pem)],
        _encryption(password),
    )


def _encryption(password: str) -> serialization.KeySerializationEncryption:
    return (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(50_000)
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303 - the MAC every TAK client checks
        .build(password.encode())
    )


def preferences(
    server: Server, truststore_name: str, ca_password: str, client_name: str | None
) -> bytes:
    """`config.pref`: one TLS connection; with `client_name`, the device's certificate; else
    enrollment with the user's name and password."""
    root = etree.Element("preferences")
    streams = etree.SubElement(root, "preference", version="1", name="cot_streams")
    app = etree.SubElement(root, "preference", version="1", name="com.atakmap.app_preferences")
    ca_location = f"cert/{truststore_name}"
    stream_entries = [
        ("count", INTEGER, "1"),
        ("description0", STRING, server.name),
        ("enabled0", BOOLEAN, "true"),
        ("connectString0", STRING, server.connect_string),
        ("caLocation0", STRING, ca_location),
        ("caPassword0", STRING, ca_password),
    ]
    app_entries = [
        ("displayServerConnectionWidget", BOOLEAN, "true"),
        ("caLocation", STRING, ca_location),
        ("caPassword", STRING, ca_password),
    ]
    if client_name is None:
        stream_entries += [
            ("enrollForCertificateWithTrust0", BOOLEAN, "true"),
            ("useAuth0", BOOLEAN, "true"),
            ("cacheCreds0", STRING, "Cache credentials"),
        ]
    else:
        stream_entries.append(("certificateLocation0", STRING, f"cert/{client_name}"))
        app_entries.append(("certificateLocation", STRING, f"cert/{client_name}"))
    for parent, entries in ((streams, stream_entries), (app, app_entries)):
        for key, kind, value in entries:
            etree.SubElement(parent, "entry", {"key": key, "class": kind}).text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def manifest(name: str, entries: list[str]) -> bytes:
    """`MANIFEST/manifest.xml`: a mission package manifest (version 2) naming every entry."""
    root = etree.Element("MissionPackageManifest", version="2")
    config = etree.SubElement(root, "Configuration")
    for key, value in (("uid", str(uuid.uuid4())), ("name", name), ("onReceiveDelete", "true")):
        etree.SubElement(config, "Parameter", name=key, value=value)
    contents = etree.SubElement(root, "Contents")
    for entry in entries:
        etree.SubElement(contents, "Content", ignore="false", zipEntry=entry)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def build(
    server: Server,
    ca_pem: bytes,
    *,
    device_uid: str | None = None,
    client: tuple[bytes, PrivateKey] | None = None,
) -> tuple[bytes, str | None]:
    """The package's zip, and the one-time password of the device's PKCS#12 (with `client`,
    its certificate PEM and key)."""
    ca_password = one_time_password()
    truststore_name = f"truststore-{server.slug}.p12"
    files: dict[str, bytes] = {f"certs/{truststore_name}": truststore(ca_pem, ca_password)}
    password = client_name = None
    if client is not None:
        assert device_uid is not None
        password = one_time_password()
        client_name = f"{_file_name(device_uid)}.p12"
        cert_pem, key = client
        files[f"certs/{client_name}"] = client_store(cert_pem, key, ca_pem, device_uid, password)
    files["certs/config.pref"] = preferences(server, truststore_name, ca_password, client_name)
    label = f"{server.name} {server.host}" + (f" ({device_uid})" if device_uid else "")
    entries = ["certs/config.pref", *sorted(k for k in files if k != "certs/config.pref")]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("MANIFEST/manifest.xml", manifest(label, entries))
        for entry in entries:
            archive.writestr(entry, files[entry])
    return out.getvalue(), password


def _file_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "device"


# --- the service: packages for the devices of the caller's organization --------------------


def organization_devices(session: Session, principal: Principal) -> list[CotDevice]:
    """The registered devices of the caller's organization, by uid."""
    if principal.system:
        return list(session.scalars(select(CotDevice).order_by(CotDevice.uid)))
    return list(
        session.scalars(
            select(CotDevice).where(CotDevice.org_id == principal.org_id).order_by(CotDevice.uid)
        )
    )


def device_of(session: Session, principal: Principal, uid: str) -> CotDevice:
    """A device of the caller's organization (the operator: any); a device of another
    organization is not found, like one that does not exist."""
    device = session.scalars(select(CotDevice).where(CotDevice.uid == uid)).one_or_none()
    if device is None or not (principal.system or device.org_id == principal.org_id):
        raise NotFound(f"device {uid!r} is not registered to your organization")
    return device


def enrollment_package(session: Session, server: Server) -> Package:
    """The package without a certificate: the device enrolls with its user's name and
    password. The same for every device of the installation."""
    data, _ = build(server, pki.authority_pem(session))
    return Package(data, f"{server.name}-{server.slug}-enroll.zip")


def certificate_package(
    session: Session, principal: Principal, uid: str, server: Server
) -> Package:
    """A package with a new certificate for one device of the caller's organization (the
    certificate is issued and audited; its key leaves only inside the package, encrypted
    under the returned one-time password)."""
    require(principal, Permission.ENROLL_DEVICES)
    device = device_of(session, principal, uid)
    issued = pki.issue_for_device(session, device.uid)
    data, password = build(
        server,
        pki.authority_pem(session),
        device_uid=device.uid,
        client=(issued.cert_pem, issued.key),
    )
    name = f"{server.name}-{server.slug}-{_file_name(device.uid)}.zip"
    return Package(data, name, password, issued.certificate.serial)


def itak_text(server: Server) -> str:
    """What iTAK's "scan QR" reads: name, host, TLS port, protocol. iTAK then asks for a user
    name and password and enrolls on port 8446."""
    return ",".join((server.name, server.host, str(server.port), "SSL"))


def itak_qr_svg(server: Server) -> bytes:
    """The QR code of `itak_text`, as SVG."""
    code = segno.make(itak_text(server), error="m")
    out = io.BytesIO()
    title = f"QR code for iTAK: {itak_text(server)}"
    code.save(out, kind="svg", scale=6, border=4, xmldecl=False, title=title, svgclass="qr-code")
    return out.getvalue()
