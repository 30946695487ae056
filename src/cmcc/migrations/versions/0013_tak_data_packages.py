"""TAK data packages: the files devices share through the Marti sync endpoints

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

`tak_data_packages` holds each uploaded package with its bytes, its SHA-256, the device that
uploaded it, an owner organization and a releasability marking; one row per (hash, owner).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tak_data_packages",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("keywords", sa.String(length=1000), nullable=False),
        sa.Column("mime_type", sa.String(length=127), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("creator_uid", sa.String(length=200), nullable=False),
        sa.Column("tool", sa.String(length=16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_tak_data_packages_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_tak_data_packages_marking"),
        ),
        sa.CheckConstraint("tool IN ('public', 'private')", name=op.f("ck_tak_data_packages_tool")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_tak_data_packages_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tak_data_packages")),
        sa.UniqueConstraint("hash", "owner_org_id", name="uq_tak_data_packages_hash_owner"),
    )
    with op.batch_alter_table("tak_data_packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tak_data_packages_hash"), ["hash"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tak_data_packages_owner_org_id"), ["owner_org_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("tak_data_packages")
