"""TAK gateway: devices and tracks

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-15

`cot_devices` maps a TAK device (uid, callsign) to an organization and optionally a pledge,
with the marking its tracks carry. `tracks` holds one row per position report, written in
batches; located like the other spatial tables (an R*Tree with a time dimension on SQLite, a
generated PostGIS `geom` column with a GiST index on (geom, time) on PostgreSQL), and indexed
by (uid, time) for the latest position per uid and a uid's positions in a window.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime
from cmcc.geo.ddl import create_spatial_index, drop_spatial_index

revision = "0007"
down_revision = "0006"
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
        "cot_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("callsign", sa.String(length=120), nullable=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        *_marking("cot_devices"),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_cot_devices_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["pledges.id"], name=op.f("fk_cot_devices_pledge_id_pledges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cot_devices")),
        sa.UniqueConstraint("uid", name=op.f("uq_cot_devices_uid")),
    )
    with op.batch_alter_table("cot_devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cot_devices_callsign"), ["callsign"], unique=False)
        batch_op.create_index(batch_op.f("ix_cot_devices_org_id"), ["org_id"], unique=False)

    op.create_table(
        "tracks",
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("callsign", sa.String(length=120), nullable=True),
        sa.Column("pledge_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("stale", UTCDateTime(), nullable=False),
        sa.Column("hae", sa.Float(), nullable=True),
        sa.Column("speed", sa.Float(), nullable=True),
        sa.Column("course", sa.Float(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("geom_wkb", sa.LargeBinary(), nullable=False),
        sa.Column("min_x", sa.Float(), nullable=False),
        sa.Column("min_y", sa.Float(), nullable=False),
        sa.Column("max_x", sa.Float(), nullable=False),
        sa.Column("max_y", sa.Float(), nullable=False),
        *_marking("tracks"),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_tracks_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["pledge_id"], ["pledges.id"], name=op.f("fk_tracks_pledge_id_pledges")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
    )
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracks_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tracks_time"), ["time"], unique=False)
        batch_op.create_index("ix_tracks_uid_time", ["uid", "time"], unique=False)

    dialect = op.get_bind().dialect.name
    for statement in create_spatial_index(dialect, "tracks", time_col="time"):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_spatial_index(dialect, "tracks"):
        op.execute(statement)
    op.drop_table("tracks")
    op.drop_table("cot_devices")
