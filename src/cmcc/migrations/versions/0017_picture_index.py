"""The picture's index carries the marking: the release policy inside the index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

SQLite: `incidents_rtree` is rebuilt with the marking columns as auxiliary R*Tree columns
(`+releasability, +owner_org_id, +release_to`), filled from the incidents already stored, and
its triggers now follow a change of marking too (`cmcc.geo.ddl.rtree_statements(marked=True)`).
The bbox/time query then applies the release policy to each index entry
(`cmcc.access.policy.MarkingColumns`) and reads no table row for a hit it rejects. Index
contents only: no record changes, nothing for the audit log. PostgreSQL: unchanged (see
docs/modules/picture.md, Performance).
"""

from __future__ import annotations

from alembic import op

from cmcc.geo.ddl import EPOCH, drop_spatial_index, rtree_columns, rtree_statements

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _rebuild(marked: bool) -> None:
    for statement in drop_spatial_index("sqlite", "incidents"):
        op.execute(statement)
    for statement in rtree_statements("incidents", "occurred_at", marked=marked):
        op.execute(statement)
    cols = rtree_columns(True, marked)
    t = EPOCH.format(col="occurred_at")
    values = ", ".join(t if c in ("min_t", "max_t") else c for c in cols)
    op.execute(
        f"INSERT INTO incidents_rtree ({', '.join(cols)}) "
        f"SELECT {values} FROM incidents ORDER BY id"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(marked=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(marked=False)
