"""The certificate authority of the installation and every certificate it issued.

Both live in the database, so that every gateway process shares them and a backup covers them.
Private keys are stored only encrypted (the CA's key, and the key of the gateway's own server
certificate, under the CA passphrase: cmcc.tak.pki); a device's key is never stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, synonym

from cmcc.core.db import Base, UTCDateTime
from cmcc.core.records import Releasable, Timestamped, marking_checks

CERT_KINDS = ("client", "server")


class TakAuthority(Timestamped, Base):
    """The installation's CA (one row): its certificate, and its private key as an encrypted
    PEM (PKCS#8) that only the CA passphrase opens."""

    __tablename__ = "tak_authorities"
    __table_args__ = (CheckConstraint("id = 1", name="one_authority"),)
    # Its key is encrypted, and still kept out of the audit log.
    __audit_redact__ = frozenset({"key_pem"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    common_name: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(40))
    fingerprint: Mapped[str] = mapped_column(String(64))
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    cert_pem: Mapped[str] = mapped_column(Text)
    key_pem: Mapped[str] = mapped_column(Text)
    # Where its passphrase comes from: "setting" (CMCC_TAK_CA_PASSPHRASE) or "file" (a 0600
    # file under CMCC_HOME, written at `cmcc tak ca init`).
    key_protection: Mapped[str] = mapped_column(String(16))


class TakCertificate(Releasable, Base):
    """A certificate the CA issued: a device's client certificate (bound to the device and its
    organization) or the gateway's server certificate. Marked `owner`: only its organization
    (and the operator) sees it."""

    __tablename__ = "tak_certificates"
    __table_args__ = (
        *marking_checks(),
        CheckConstraint("kind IN ('client', 'server')", name="kind"),
        CheckConstraint("(kind = 'client') = (device_uid IS NOT NULL)", name="client_device"),
    )
    __audit_redact__ = frozenset({"key_pem"})

    releasability: Mapped[str] = mapped_column(String(8), default="owner")
    serial: Mapped[str] = mapped_column(String(40), unique=True)  # lower-case hex
    kind: Mapped[str] = mapped_column(String(8))
    device_uid: Mapped[str | None] = mapped_column(String(200), index=True, default=None)
    # The organization the certificate is bound to (the release policy's owner).
    org_id: Mapped[int] = synonym("owner_org_id")
    subject: Mapped[str] = mapped_column(String(400))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of DER, hex
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    not_after: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    cert_pem: Mapped[str] = mapped_column(Text)
    # The server certificate's key, encrypted under the CA passphrase; NULL for a device's.
    key_pem: Mapped[str | None] = mapped_column(Text, default=None)
    # The names and addresses of a server certificate (comma-separated), as issued.
    hostnames: Mapped[str | None] = mapped_column(String(1000), default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revocation_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    # The certificate this one renewed (revoked as superseded once this one was issued).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("tak_certificates.id"), default=None)
