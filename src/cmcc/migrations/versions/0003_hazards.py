"""explosive ordnance hazards

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

Hazard areas (SHA/CHA) with their status changes, EO spot reports, land release activities,
EO accidents and the links between them. CHECK constraints keep every vocabulary column within
its enum (cmcc.hazards.domain). Spatial indexes on the three spatial tables: an R*Tree per
table on SQLite, a generated PostGIS `geom` column with a GiST index on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime
from cmcc.geo.ddl import create_spatial_index, drop_spatial_index

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SPATIAL = ("hazard_areas", "eo_spot_reports", "eo_accidents")


def upgrade() -> None:
    op.create_table(
        "hazard_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_ref", sa.String(length=40), nullable=False),
        sa.Column("to_ref", sa.String(length=40), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "relation IN ('found_in', 'cleared_by', 'caused_by', 'related')",
            name=op.f("ck_hazard_links_relation"),
        ),
        sa.CheckConstraint("from_ref <> to_ref", name=op.f("ck_hazard_links_distinct_ends")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_links")),
        sa.UniqueConstraint(
            "from_ref", "to_ref", "relation", name=op.f("uq_hazard_links_from_ref")
        ),
    )
    with op.batch_alter_table("hazard_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hazard_links_from_ref"), ["from_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_hazard_links_to_ref"), ["to_ref"], unique=False)

    op.create_table(
        "hazard_areas",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("classification", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_category", sa.String(length=20), nullable=False),
        sa.Column("device_type", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("area_m2", sa.Integer(), nullable=False),
        sa.Column("handed_over_at", UTCDateTime(), nullable=True),
        sa.Column("cleared_zone_id", sa.Integer(), nullable=True),
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
            name=op.f("ck_hazard_areas_release_list"),
        ),
        sa.CheckConstraint(
            "classification IN ('sha', 'cha')", name=op.f("ck_hazard_areas_classification")
        ),
        sa.CheckConstraint(
            "device_category IN ('uxo', 'axo', 'landmine', 'ied', 'cluster_munition', 'aircraft_bomb', 'other')",
            name=op.f("ck_hazard_areas_device_category"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_hazard_areas_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'handed_over')", name=op.f("ck_hazard_areas_status")
        ),
        sa.CheckConstraint("area_m2 >= 0", name=op.f("ck_hazard_areas_area_m2")),
        sa.ForeignKeyConstraint(
            ["cleared_zone_id"], ["zones.id"], name=op.f("fk_hazard_areas_cleared_zone_id_zones")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_hazard_areas_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_areas")),
    )
    with op.batch_alter_table("hazard_areas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hazard_areas_classification"), ["classification"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_hazard_areas_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_hazard_areas_status"), ["status"], unique=False)

    op.create_table(
        "eo_accidents",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_category", sa.String(length=20), nullable=False),
        sa.Column("device_type", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("killed", sa.Integer(), nullable=False),
        sa.Column("injured", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
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
            name=op.f("ck_eo_accidents_release_list"),
        ),
        sa.CheckConstraint(
            "device_category IN ('uxo', 'axo', 'landmine', 'ied', 'cluster_munition', 'aircraft_bomb', 'other')",
            name=op.f("ck_eo_accidents_device_category"),
        ),
        sa.CheckConstraint("kind IN ('demining', 'civilian')", name=op.f("ck_eo_accidents_kind")),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_eo_accidents_marking"),
        ),
        sa.CheckConstraint("killed >= 0 AND injured >= 0", name=op.f("ck_eo_accidents_victims")),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazard_areas.id"], name=op.f("fk_eo_accidents_hazard_id_hazard_areas")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_eo_accidents_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eo_accidents")),
    )
    with op.batch_alter_table("eo_accidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eo_accidents_hazard_id"), ["hazard_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_eo_accidents_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eo_accidents_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "eo_spot_reports",
        sa.Column("device_category", sa.String(length=20), nullable=False),
        sa.Column("device_type", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.Column("disposition", sa.String(length=16), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
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
            name=op.f("ck_eo_spot_reports_release_list"),
        ),
        sa.CheckConstraint(
            "device_category IN ('uxo', 'axo', 'landmine', 'ied', 'cluster_munition', 'aircraft_bomb', 'other')",
            name=op.f("ck_eo_spot_reports_device_category"),
        ),
        sa.CheckConstraint(
            "disposition IN ('left_in_place', 'removed', 'destroyed')",
            name=op.f("ck_eo_spot_reports_disposition"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_eo_spot_reports_marking"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_areas.id"],
            name=op.f("fk_eo_spot_reports_hazard_id_hazard_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_eo_spot_reports_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eo_spot_reports")),
    )
    with op.batch_alter_table("eo_spot_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_eo_spot_reports_found_at"), ["found_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_eo_spot_reports_hazard_id"), ["hazard_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_eo_spot_reports_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "hazard_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_areas.id"],
            name=op.f("fk_hazard_status_changes_hazard_id_hazard_areas"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_status_changes")),
    )
    with op.batch_alter_table("hazard_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hazard_status_changes_hazard_id"), ["hazard_id"], unique=False
        )

    op.create_table(
        "land_release_activities",
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("cancelled_m2", sa.Integer(), nullable=False),
        sa.Column("reduced_m2", sa.Integer(), nullable=False),
        sa.Column("cleared_m2", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("released_wkb", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_land_release_activities_release_list"),
        ),
        sa.CheckConstraint(
            "kind IN ('non_technical_survey', 'technical_survey', 'clearance')",
            name=op.f("ck_land_release_activities_kind"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_land_release_activities_marking"),
        ),
        sa.CheckConstraint(
            "cancelled_m2 >= 0 AND reduced_m2 >= 0 AND cleared_m2 >= 0",
            name=op.f("ck_land_release_activities_areas"),
        ),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name=op.f("ck_land_release_activities_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_areas.id"],
            name=op.f("fk_land_release_activities_hazard_id_hazard_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_land_release_activities_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_land_release_activities")),
    )
    with op.batch_alter_table("land_release_activities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_land_release_activities_hazard_id"), ["hazard_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_land_release_activities_owner_org_id"), ["owner_org_id"], unique=False
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
    with op.batch_alter_table("land_release_activities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_land_release_activities_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_land_release_activities_hazard_id"))

    op.drop_table("land_release_activities")
    with op.batch_alter_table("hazard_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_status_changes_hazard_id"))

    op.drop_table("hazard_status_changes")
    with op.batch_alter_table("eo_spot_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eo_spot_reports_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_eo_spot_reports_hazard_id"))
        batch_op.drop_index(batch_op.f("ix_eo_spot_reports_found_at"))

    op.drop_table("eo_spot_reports")
    with op.batch_alter_table("eo_accidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_eo_accidents_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_eo_accidents_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_eo_accidents_hazard_id"))

    op.drop_table("eo_accidents")
    with op.batch_alter_table("hazard_areas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_areas_status"))
        batch_op.drop_index(batch_op.f("ix_hazard_areas_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_hazard_areas_classification"))

    op.drop_table("hazard_areas")
    with op.batch_alter_table("hazard_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_links_to_ref"))
        batch_op.drop_index(batch_op.f("ix_hazard_links_from_ref"))

    op.drop_table("hazard_links")
