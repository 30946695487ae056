"""search for remains

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Search tasks (a place or a grid sector) with their status steps and their links to hazard
areas, recoveries, and the personal data of the missing and their families in a table of its
own. CHECK constraints keep every vocabulary column within its enum (cmcc.remains.domain).
Spatial indexes on search_tasks and recoveries: an R*Tree per table on SQLite, a generated
PostGIS `geom` column with a GiST index on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime
from cmcc.geo.ddl import create_spatial_index, drop_spatial_index

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SPATIAL = ("search_tasks", "recoveries")


def upgrade() -> None:
    op.create_table(
        "search_tasks",
        sa.Column("sector", sa.String(length=12), nullable=True),
        sa.Column("grid", sa.String(length=200), nullable=True),
        sa.Column("marker", sa.String(length=200), nullable=False),
        sa.Column("team", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_changed_at", UTCDateTime(), nullable=True),
        sa.Column("status_changed_by", sa.String(length=120), nullable=True),
        sa.Column("eod_escort", sa.String(length=200), nullable=True),
        sa.Column("escort_confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
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
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_search_tasks_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_search_tasks_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('not_started', 'assigned', 'in_progress', 'completed', 'not_possible')",
            name=op.f("ck_search_tasks_status"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_search_tasks_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_tasks")),
    )
    op.create_index(op.f("ix_search_tasks_grid"), "search_tasks", ["grid"], unique=False)
    op.create_index(
        op.f("ix_search_tasks_owner_org_id"), "search_tasks", ["owner_org_id"], unique=False
    )
    op.create_index(op.f("ix_search_tasks_status"), "search_tasks", ["status"], unique=False)
    op.create_table(
        "recoveries",
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("recovered_at", UTCDateTime(), nullable=False),
        sa.Column("place", sa.String(length=500), nullable=False),
        sa.Column("remains_found", sa.Integer(), nullable=False),
        sa.Column("remains_recovered", sa.Integer(), nullable=False),
        sa.Column("identification_status", sa.String(length=12), nullable=True),
        sa.Column("identification_method", sa.String(length=12), nullable=True),
        sa.Column("handover_to", sa.String(length=10), nullable=True),
        sa.Column("handover_date", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
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
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_recoveries_release_list"),
        ),
        sa.CheckConstraint(
            "handover_to IS NULL OR handover_to IN ('family', 'authority')",
            name=op.f("ck_recoveries_handover_to"),
        ),
        sa.CheckConstraint(
            "identification_method IS NULL OR identification_method IN ('visual', 'fingerprints', 'dental', 'dna')",
            name=op.f("ck_recoveries_identification_method"),
        ),
        sa.CheckConstraint(
            "identification_status IS NULL OR identification_status IN ('preliminary', 'confirmed')",
            name=op.f("ck_recoveries_identification_status"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_recoveries_marking"),
        ),
        sa.CheckConstraint(
            "(handover_to IS NULL) = (handover_date IS NULL)",
            name=op.f("ck_recoveries_handover_date"),
        ),
        sa.CheckConstraint(
            "remains_found >= 0 AND remains_recovered >= 0 AND remains_recovered <= remains_found",
            name=op.f("ck_recoveries_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_recoveries_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["search_tasks.id"], name=op.f("fk_recoveries_task_id_search_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recoveries")),
    )
    op.create_index(
        op.f("ix_recoveries_owner_org_id"), "recoveries", ["owner_org_id"], unique=False
    )
    op.create_index(
        op.f("ix_recoveries_recovered_at"), "recoveries", ["recovered_at"], unique=False
    )
    op.create_index(op.f("ix_recoveries_task_id"), "recoveries", ["task_id"], unique=False)
    op.create_table(
        "search_task_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["search_tasks.id"], name=op.f("fk_search_task_steps_task_id_search_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_task_steps")),
    )
    op.create_index(
        op.f("ix_search_task_steps_task_id"), "search_task_steps", ["task_id"], unique=False
    )
    op.create_table(
        "recovery_personal_data",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recovery_id", sa.Integer(), nullable=False),
        sa.Column("missing_name", sa.String(length=300), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("family_contact_name", sa.String(length=300), nullable=False),
        sa.Column("family_contact_phone", sa.String(length=50), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "age IS NULL OR (age >= 0 AND age <= 130)", name=op.f("ck_recovery_personal_data_age")
        ),
        sa.ForeignKeyConstraint(
            ["recovery_id"],
            ["recoveries.id"],
            name=op.f("fk_recovery_personal_data_recovery_id_recoveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_personal_data")),
        sa.UniqueConstraint("recovery_id", name=op.f("uq_recovery_personal_data_recovery_id")),
    )
    op.create_table(
        "search_task_hazards",
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_areas.id"],
            name=op.f("fk_search_task_hazards_hazard_id_hazard_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["search_tasks.id"],
            name=op.f("fk_search_task_hazards_task_id_search_tasks"),
        ),
        sa.PrimaryKeyConstraint("task_id", "hazard_id", name=op.f("pk_search_task_hazards")),
    )
    op.create_index(
        op.f("ix_search_task_hazards_hazard_id"), "search_task_hazards", ["hazard_id"], unique=False
    )
    dialect = op.get_bind().dialect.name
    for table in SPATIAL:
        for statement in create_spatial_index(dialect, table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in SPATIAL:
        for statement in drop_spatial_index(dialect, table):
            op.execute(statement)
    op.drop_index(op.f("ix_search_task_hazards_hazard_id"), table_name="search_task_hazards")
    op.drop_table("search_task_hazards")
    op.drop_table("recovery_personal_data")
    op.drop_index(op.f("ix_search_task_steps_task_id"), table_name="search_task_steps")
    op.drop_table("search_task_steps")
    op.drop_index(op.f("ix_recoveries_task_id"), table_name="recoveries")
    op.drop_index(op.f("ix_recoveries_recovered_at"), table_name="recoveries")
    op.drop_index(op.f("ix_recoveries_owner_org_id"), table_name="recoveries")
    op.drop_table("recoveries")
    op.drop_index(op.f("ix_search_tasks_status"), table_name="search_tasks")
    op.drop_index(op.f("ix_search_tasks_owner_org_id"), table_name="search_tasks")
    op.drop_index(op.f("ix_search_tasks_grid"), table_name="search_tasks")
    op.drop_table("search_tasks")
