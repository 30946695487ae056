"""The parts of enrollment and connection packages that need no database: reading a device's
certificate signing request as ATAK and pytak send it, the answers in TAK Server's shapes,
the failure limit, and a connection package taken apart (manifest, preferences, truststore,
the device's PKCS#12 and its one-time password)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import zipfile

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree

from cmcc.tak import connection
from cmcc.tak.enrollment import BadEnrollment, read_request, signed_response, tls_config_xml

SERVER = connection.Server("CMCC", "tak.example.org", 8089)


def _csr(key: rsa.RSAPrivateKey, cn: str = "alice") -> x509.CertificateSigningRequest:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(
    name: str,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: rsa.RSAPrivateKey,
) -> bytes:
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(signer, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def ca(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    return _certificate("Test CA", key, name, key)


def test_a_request_is_read_as_pem_as_bare_base64_and_with_line_breaks(
    key: rsa.RSAPrivateKey,
) -> None:
    csr = _csr(key)
    der = csr.public_bytes(serialization.Encoding.DER)
    pem = csr.public_bytes(serialization.Encoding.PEM)
    bare = base64.b64encode(der)  # as ATAK sends it
    wrapped = b"\n".join(bare[i : i + 64] for i in range(0, len(bare), 64)) + b"\n"
    for body in (pem, bare, wrapped, b"  " + pem + b"\n"):
        assert read_request(body) == der


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "the body is empty"),
        (b"not base64 at all!", "neither PEM nor the base64"),
        (base64.b64encode(b"\x30\x03\x02\x01\x01"), "neither PEM nor the base64"),
        (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "PEM"),
    ],
)
def test_a_bad_request_says_what_is_wrong(body: bytes, says: str) -> None:
    with pytest.raises(BadEnrollment) as caught:
        read_request(body)
    assert says in caught.value.detail
    assert caught.value.http_status == 400


def test_a_request_signed_by_another_key_is_refused(key: rsa.RSAPrivateKey) -> None:
    """A request whose public key is swapped for another no longer matches its signature."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = _csr(key).public_bytes(serialization.Encoding.DER)
    mine = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    theirs = other.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert mine in good
    forged = good.replace(mine, theirs)
    with pytest.raises(BadEnrollment) as caught:
        read_request(base64.b64encode(forged))
    assert "signature" in caught.value.detail


def test_the_certificate_configuration_names_two_entries() -> None:
    root = etree.fromstring(tls_config_xml("IDN"))
    assert etree.QName(root).localname == "certificateConfig"
    assert root.nsmap["ns2"] == "com.bbn.marti.config"
    entries = {e.get("name"): e.get("value") for e in root.iter("{*}nameEntry")}
    assert entries == {"O": "IDN", "OU": "CMCC"}


def test_the_signed_certificate_comes_as_json_unless_xml_alone_is_asked(ca: bytes) -> None:
    der = base64.b64encode(
        x509.load_pem_x509_certificate(ca).public_bytes(serialization.Encoding.DER)
    ).decode()
    for accept in ("", "*/*", "application/json", "application/json, application/xml"):
        answer = signed_response(ca, ca, accept)
        assert answer.media_type == "application/json", accept
        assert json.loads(bytes(answer.body)) == {"signedCert": der, "ca0": der}
    plain = signed_response(ca, ca, "text/plain")  # iTAK
    assert plain.media_type == "text/plain"
    assert json.loads(bytes(plain.body))["signedCert"] == der
    xml = signed_response(ca, ca, "application/xml")  # ATAK
    assert xml.media_type == "application/xml"
    root = etree.fromstring(bytes(xml.body))
    assert root.tag == "enrollment"
    assert root.findtext("signedCert") == der
    assert [e.text for e in root if e.tag != "signedCert"] == [der]


def _package(zip_bytes: bytes) -> tuple[zipfile.ZipFile, etree._Element, dict[str, str]]:
    archive = zipfile.ZipFile(io.BytesIO(zip_bytes))
    manifest = etree.fromstring(archive.read("MANIFEST/manifest.xml"))
    prefs = etree.fromstring(archive.read("certs/config.pref"))
    entries = {e.get("key"): e.text or "" for e in prefs.iter("entry")}
    return archive, manifest, entries


def test_the_enrollment_package_connects_and_enrolls_with_the_truststore(ca: bytes) -> None:
    data, password = connection.build(SERVER, ca)
    assert password is None
    archive, manifest, entries = _package(data)
    assert manifest.tag == "MissionPackageManifest" and manifest.get("version") == "2"
    params = {p.get("name"): p.get("value") for p in manifest.iter("Parameter")}
    assert params["onReceiveDelete"] == "true" and params["uid"] and params["name"]
    listed = {c.get("zipEntry") for c in manifest.iter("Content")}
    assert listed | {"MANIFEST/manifest.xml"} == set(archive.namelist())
    assert entries["connectString0"] == "tak.example.org:8089:ssl"
    assert entries["enrollForCertificateWithTrust0"] == "true"
    assert entries["useAuth0"] == "true"
    assert "certificateLocation" not in entries and "clientPassword" not in entries
    store = "certs/" + entries["caLocation"].removeprefix("cert/")
    assert entries["caLocation0"] == entries["caLocation"]
    _key, _cert, cas = pkcs12.load_key_and_certificates(
        archive.read(store), entries["caPassword"].encode()
    )
    assert [c.public_bytes(serialization.Encoding.PEM) for c in cas] == [ca]


def test_the_certificate_package_holds_the_key_under_a_password_kept_out_of_it(
    ca: bytes, key: rsa.RSAPrivateKey
) -> None:
    device_key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.load_pem_x509_certificate(ca).subject
    cert = _certificate("ANDROID-1/x", device_key, issuer, key)
    data, password = connection.build(
        SERVER, ca, device_uid="ANDROID-1/x", client=(cert, device_key)
    )
    assert password is not None and len(password) == 19
    archive, manifest, entries = _package(data)
    listed = {c.get("zipEntry") for c in manifest.iter("Content")}
    assert listed | {"MANIFEST/manifest.xml"} == set(archive.namelist())
    assert "enrollForCertificateWithTrust0" not in entries
    client = "certs/" + entries["certificateLocation"].removeprefix("cert/")
    assert client == "certs/ANDROID-1-x.p12"
    assert entries["certificateLocation0"] == entries["certificateLocation"]
    loaded_key, loaded_cert, cas = pkcs12.load_key_and_certificates(
        archive.read(client), password.encode()
    )
    assert loaded_cert is not None and loaded_cert.public_bytes(serialization.Encoding.PEM) == cert
    assert loaded_key is not None and loaded_key.public_key() == device_key.public_key()
    assert [c.public_bytes(serialization.Encoding.PEM) for c in cas] == [ca]
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(archive.read(client), entries["caPassword"].encode())
    everything = b"".join(archive.read(n) for n in archive.namelist())
    assert password.encode() not in everything


def test_itak_reads_name_host_port_and_protocol() -> None:
    assert connection.itak_text(SERVER) == "CMCC,tak.example.org,8089,SSL"
    svg = etree.fromstring(connection.itak_qr_svg(SERVER))
    assert etree.QName(svg).localname == "svg"
    assert "CMCC,tak.example.org,8089,SSL" in svg.findtext("{*}title")


def test_one_time_passwords_differ_and_read_easily() -> None:
    seen = {connection.one_time_password() for _ in range(50)}
    assert len(seen) == 50
    for password in seen:
        groups = password.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(connection.PASSWORD_LETTERS)
