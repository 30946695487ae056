"""Humanitarian coordination: notifications of sites and movements, their contacts and
deconfliction advisories, access constraints, crossings and aid flow

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 23:49:20.009808
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime
from cmcc.core.types import JSONDoc
from cmcc.geo.ddl import create_spatial_index, drop_spatial_index

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crossings",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("approx", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_crossings_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_crossings_marking"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_crossings_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crossings")),
        sa.UniqueConstraint("code", name=op.f("uq_crossings_code")),
    )
    with op.batch_alter_table("crossings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crossings_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "notification_contacts",
        sa.Column("notification_lineage", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_notification_contacts_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_notification_contacts_marking"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_notification_contacts_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_contacts")),
    )
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_contacts_notification_lineage"),
            ["notification_lineage"],
            unique=True,
        )
        batch_op.create_index(
            batch_op.f("ix_notification_contacts_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "access_constraints",
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("impact", sa.String(length=32), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("delay_minutes", sa.Integer(), nullable=True),
        sa.Column("notification_lineage", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=120), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_access_constraints_release_list"),
        ),
        sa.CheckConstraint(
            "category IN ('beneficiary_access_impeded', 'entry_restrictions', 'movement_restrictions', 'interference', 'violence_against_personnel_assets', 'hostilities', 'explosive_ordnance', 'physical_environment', 'denial_of_needs')",
            name=op.f("ck_access_constraints_category"),
        ),
        sa.CheckConstraint(
            "impact IN ('turned_back_at_checkpoint', 'delayed_at_checkpoint', 'interference', 'violence', 'looting', 'restriction', 'other')",
            name=op.f("ck_access_constraints_impact"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_access_constraints_marking"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_access_constraints_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_access_constraints_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_constraints")),
    )
    with op.batch_alter_table("access_constraints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_constraints_notification_lineage"),
            ["notification_lineage"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_access_constraints_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_access_constraints_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "aid_flow_entries",
        sa.Column("crossing_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("cargo_category", sa.String(length=16), nullable=False),
        sa.Column("trucks", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_aid_flow_entries_release_list"),
        ),
        sa.CheckConstraint(
            "cargo_category IN ('food', 'health', 'shelter', 'wash', 'fuel', 'commercial')",
            name=op.f("ck_aid_flow_entries_cargo_category"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_aid_flow_entries_marking"),
        ),
        sa.CheckConstraint("trucks >= 0", name=op.f("ck_aid_flow_entries_trucks")),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["crossings.id"],
            name=op.f("fk_aid_flow_entries_crossing_id_crossings"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_aid_flow_entries_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aid_flow_entries")),
        sa.UniqueConstraint(
            "crossing_id", "day", "cargo_category", name=op.f("uq_aid_flow_entries_crossing_id")
        ),
    )
    with op.batch_alter_table("aid_flow_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aid_flow_entries_crossing_id"), ["crossing_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_aid_flow_entries_day"), ["day"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_aid_flow_entries_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "aid_flow_targets",
        sa.Column("crossing_id", sa.Integer(), nullable=True),
        sa.Column("cargo_category", sa.String(length=16), nullable=True),
        sa.Column("trucks_per_day", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_aid_flow_targets_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_aid_flow_targets_marking"),
        ),
        sa.CheckConstraint("trucks_per_day >= 0", name=op.f("ck_aid_flow_targets_trucks_per_day")),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["crossings.id"],
            name=op.f("fk_aid_flow_targets_crossing_id_crossings"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_aid_flow_targets_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aid_flow_targets")),
    )
    with op.batch_alter_table("aid_flow_targets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aid_flow_targets_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "crossing_statuses",
        sa.Column("crossing_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("hours", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("approx", sa.Boolean(), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_crossing_statuses_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_crossing_statuses_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'restricted_hours')",
            name=op.f("ck_crossing_statuses_status"),
        ),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["crossings.id"],
            name=op.f("fk_crossing_statuses_crossing_id_crossings"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_crossing_statuses_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crossing_statuses")),
    )
    with op.batch_alter_table("crossing_statuses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crossing_statuses_crossing_id"), ["crossing_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_crossing_statuses_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_crossing_statuses_since"), ["since"], unique=False)

    op.create_table(
        "humanitarian_notifications",
        sa.Column("lineage", sa.Integer(), nullable=True),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("site_type", sa.String(length=32), nullable=True),
        sa.Column("movement_type", sa.String(length=32), nullable=True),
        sa.Column("hours", sa.String(length=200), nullable=False),
        sa.Column(
            "waypoints",
            JSONDoc,
            nullable=False,
        ),
        sa.Column("crossing_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_to", UTCDateTime(), nullable=True),
        sa.Column("vehicles", sa.Integer(), nullable=True),
        sa.Column("cargo_category", sa.String(length=16), nullable=True),
        sa.Column("personnel_count", sa.Integer(), nullable=True),
        sa.Column("buffer_m", sa.Float(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", UTCDateTime(), nullable=False),
        sa.Column("status_by", sa.String(length=120), nullable=False),
        sa.Column(
            "audiences",
            JSONDoc,
            nullable=False,
        ),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("submitted_by", sa.String(length=120), nullable=False),
        sa.Column("illustrative", sa.Boolean(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
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
            name=op.f("ck_humanitarian_notifications_release_list"),
        ),
        sa.CheckConstraint(
            "kind IN ('site', 'movement')", name=op.f("ck_humanitarian_notifications_kind")
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_humanitarian_notifications_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('submitted', 'acknowledged', 'shared', 'completed', 'withdrawn')",
            name=op.f("ck_humanitarian_notifications_status"),
        ),
        sa.ForeignKeyConstraint(
            ["crossing_id"],
            ["crossings.id"],
            name=op.f("fk_humanitarian_notifications_crossing_id_crossings"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_humanitarian_notifications_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_humanitarian_notifications_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_humanitarian_notifications")),
    )
    with op.batch_alter_table("humanitarian_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_humanitarian_notifications_kind"), ["kind"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_humanitarian_notifications_lineage"), ["lineage"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_humanitarian_notifications_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_humanitarian_notifications_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_humanitarian_notifications_valid_from"), ["valid_from"], unique=False
        )

    op.create_table(
        "deconfliction_advisories",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("crossing_status_id", sa.Integer(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('restricted_area', 'explosive_hazard', 'incident', 'crossing', 'force_task')",
            name=op.f("ck_deconfliction_advisories_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["crossing_status_id"],
            ["crossing_statuses.id"],
            name=op.f("fk_deconfliction_advisories_crossing_status_id_crossing_statuses"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"],
            ["hazard_areas.id"],
            name=op.f("fk_deconfliction_advisories_hazard_id_hazard_areas"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_deconfliction_advisories_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["humanitarian_notifications.id"],
            name=op.f("fk_deconfliction_advisories_notification_id_humanitarian_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_deconfliction_advisories_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["unit_tasks.id"],
            name=op.f("fk_deconfliction_advisories_task_id_unit_tasks"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_deconfliction_advisories_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deconfliction_advisories")),
    )
    with op.batch_alter_table("deconfliction_advisories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_crossing_status_id"),
            ["crossing_status_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_hazard_id"), ["hazard_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_notification_id"),
            ["notification_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_task_id"), ["task_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_deconfliction_advisories_zone_id"), ["zone_id"], unique=False
        )

    op.create_table(
        "notification_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column(
            "audiences",
            JSONDoc,
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["humanitarian_notifications.id"],
            name=op.f("fk_notification_status_changes_notification_id_humanitarian_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_status_changes")),
    )
    with op.batch_alter_table("notification_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_status_changes_notification_id"),
            ["notification_id"],
            unique=False,
        )

    dialect = op.get_bind().dialect.name
    for statement in create_spatial_index(dialect, "humanitarian_notifications"):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_spatial_index(dialect, "humanitarian_notifications"):
        op.execute(statement)
    with op.batch_alter_table("notification_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status_changes_notification_id"))

    op.drop_table("notification_status_changes")
    with op.batch_alter_table("deconfliction_advisories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_zone_id"))
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_task_id"))
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_notification_id"))
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_incident_id"))
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_hazard_id"))
        batch_op.drop_index(batch_op.f("ix_deconfliction_advisories_crossing_status_id"))

    op.drop_table("deconfliction_advisories")
    with op.batch_alter_table("humanitarian_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_humanitarian_notifications_valid_from"))
        batch_op.drop_index(batch_op.f("ix_humanitarian_notifications_status"))
        batch_op.drop_index(batch_op.f("ix_humanitarian_notifications_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_humanitarian_notifications_lineage"))
        batch_op.drop_index(batch_op.f("ix_humanitarian_notifications_kind"))

    op.drop_table("humanitarian_notifications")
    with op.batch_alter_table("crossing_statuses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crossing_statuses_since"))
        batch_op.drop_index(batch_op.f("ix_crossing_statuses_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_crossing_statuses_crossing_id"))

    op.drop_table("crossing_statuses")
    with op.batch_alter_table("aid_flow_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aid_flow_targets_owner_org_id"))

    op.drop_table("aid_flow_targets")
    with op.batch_alter_table("aid_flow_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aid_flow_entries_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_aid_flow_entries_day"))
        batch_op.drop_index(batch_op.f("ix_aid_flow_entries_crossing_id"))

    op.drop_table("aid_flow_entries")
    with op.batch_alter_table("access_constraints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_constraints_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_access_constraints_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_access_constraints_notification_lineage"))

    op.drop_table("access_constraints")
    with op.batch_alter_table("notification_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_contacts_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_notification_contacts_notification_lineage"))

    op.drop_table("notification_contacts")
    with op.batch_alter_table("crossings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crossings_owner_org_id"))

    op.drop_table("crossings")
