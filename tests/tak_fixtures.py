"""A TAK certificate authority for tests: the CA passphrase file in the test's own folder
(on PostgreSQL too, whose platform has no folder of its own), never in the working tree."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cmcc.bootstrap import Platform
from cmcc.cli.common import operator_session
from cmcc.tak import pki


def with_ca(platform: Platform, home: Path, *, common_name: str = "CMCC Test CA") -> Platform:
    """`platform` with a CA (its passphrase file under `home`)."""
    platform.settings.home = home
    with operator_session(platform, write=True, actor="system:test") as session:
        pki.init_authority(session, common_name=common_name, lifetime_days=3650)
    return platform


class Foreign(NamedTuple):
    """A client certificate for a device, from a CA that is not the installation's."""

    ca: x509.Certificate
    cert: x509.Certificate
    key: rsa.RSAPrivateKey


def another_ca_certificate(device: str = "idn-1", org_code: str = "IDN") -> Foreign:
    """A certificate that names the device and its organization as the installation's CA
    would (CN, O, client authentication), signed by another CA."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(issuer)
        .issuer_name(issuer)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, device),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org_code),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Foreign(ca, cert, key)
