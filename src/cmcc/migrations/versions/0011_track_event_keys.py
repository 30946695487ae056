"""Tracks: the idempotent key of a position that came through the JetStream stream

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

`tracks.event_key` (uuid on PostgreSQL, 32 hex digits on SQLite), unique where set: a position
delivered twice by the stream is stored once (cmcc.cot.stream). Rows stored by the gateway of
a single process leave it NULL. Added without rebuilding the table (SQLite's R*Tree triggers on
`tracks` stay as they are).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tracks", sa.Column("event_key", sa.Uuid(as_uuid=False), nullable=True))
    op.create_index("ux_tracks_event_key", "tracks", ["event_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_tracks_event_key", table_name="tracks")
    op.execute("ALTER TABLE tracks DROP COLUMN event_key")  # SQLite 3.35+: no table rebuild
