"""TAK certificate authority: the CA and the certificates it issued

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

`tak_authorities` holds the installation's CA (one row: its certificate, its private key as an
encrypted PEM). `tak_certificates` holds every certificate the CA issued: a device's client
certificate (bound to the device's uid and its organization; the device's key is never
stored) or the gateway's server certificate (with its key, encrypted); revoked ones keep their
row with the time and reason, for the revocation list. Marked like every released record (an
issued certificate is `owner`: only its organization sees it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _marking(table: str) -> list[sa.CheckConstraint]:
    return [
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f(f"ck_{table}_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f(f"ck_{table}_marking"),
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "tak_authorities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("common_name", sa.String(length=200), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("key_pem", sa.Text(), nullable=False),
        sa.Column("key_protection", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_tak_authorities_one_authority")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tak_authorities")),
    )
    op.create_table(
        "tak_certificates",
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("device_uid", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_before", UTCDateTime(), nullable=False),
        sa.Column("not_after", UTCDateTime(), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("key_pem", sa.Text(), nullable=True),
        sa.Column("hostnames", sa.String(length=1000), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revocation_reason", sa.String(length=40), nullable=True),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        *_marking("tak_certificates"),
        sa.CheckConstraint("kind IN ('client', 'server')", name=op.f("ck_tak_certificates_kind")),
        sa.CheckConstraint(
            "(kind = 'client') = (device_uid IS NOT NULL)",
            name=op.f("ck_tak_certificates_client_device"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_tak_certificates_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["tak_certificates.id"],
            name=op.f("fk_tak_certificates_replaces_id_tak_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tak_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_tak_certificates_fingerprint")),
        sa.UniqueConstraint("serial", name=op.f("uq_tak_certificates_serial")),
    )
    with op.batch_alter_table("tak_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tak_certificates_device_uid"), ["device_uid"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tak_certificates_not_after"), ["not_after"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tak_certificates_owner_org_id"), ["owner_org_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("tak_certificates")
    op.drop_table("tak_authorities")
