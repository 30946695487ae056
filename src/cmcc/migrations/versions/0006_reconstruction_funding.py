"""reconstruction funding

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

The reconstruction plan as a tree (funding_plans -> funding_phases -> funding_programmes ->
funding_projects) and the funding flows (pledge -> commitment -> paid) in versions that share a
lineage. Money is whole cents in a BIGINT (cmcc.core.types.Money), exchange rates a BIGINT
scaled by 10^10 (cmcc.funding.columns.ExchangeRate): exact on both backends. CHECK constraints
keep the statuses within their enums (cmcc.funding.domain). Projects are located: an R*Tree on
SQLite, a generated PostGIS `geom` column with a GiST index on PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime
from cmcc.core.types import Money
from cmcc.funding.columns import ExchangeRate
from cmcc.geo.ddl import create_spatial_index, drop_spatial_index

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = (
    "funding_flows",
    "funding_projects",
    "funding_programmes",
    "funding_phases",
    "funding_plans",
)


def upgrade() -> None:
    op.create_table(
        "funding_plans",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("budget_usd", Money(), nullable=False),
        sa.Column("iati_identifier", sa.String(length=120), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_funding_plans_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_funding_plans_marking"),
        ),
        sa.CheckConstraint("budget_usd >= 0", name=op.f("ck_funding_plans_budget")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_funding_plans_period")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_plans_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_plans")),
        sa.UniqueConstraint("code", name=op.f("uq_funding_plans_code")),
        sa.UniqueConstraint("iati_identifier", name=op.f("uq_funding_plans_iati_identifier")),
    )
    with op.batch_alter_table("funding_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funding_plans_owner_org_id"), ["owner_org_id"], unique=False
        )

    op.create_table(
        "funding_phases",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("budget_usd", Money(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_funding_phases_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_funding_phases_marking"),
        ),
        sa.CheckConstraint("budget_usd >= 0", name=op.f("ck_funding_phases_budget")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_funding_phases_period")),
        sa.CheckConstraint("number >= 1", name=op.f("ck_funding_phases_number")),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_phases_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["funding_plans.id"], name=op.f("fk_funding_phases_plan_id_funding_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_phases")),
        sa.UniqueConstraint("plan_id", "number", name=op.f("uq_funding_phases_plan_id")),
    )
    with op.batch_alter_table("funding_phases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funding_phases_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_funding_phases_plan_id"), ["plan_id"], unique=False)

    op.create_table(
        "funding_programmes",
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("dac_code", sa.String(length=5), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("budget_usd", Money(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_funding_programmes_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_funding_programmes_marking"),
        ),
        sa.CheckConstraint(
            "budget_usd IS NULL OR budget_usd >= 0", name=op.f("ck_funding_programmes_budget")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_programmes_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["funding_phases.id"],
            name=op.f("fk_funding_programmes_phase_id_funding_phases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_programmes")),
    )
    with op.batch_alter_table("funding_programmes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funding_programmes_dac_code"), ["dac_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_funding_programmes_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_funding_programmes_phase_id"), ["phase_id"], unique=False
        )

    op.create_table(
        "funding_projects",
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("implementing_org_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("planned_start", sa.Date(), nullable=True),
        sa.Column("planned_end", sa.Date(), nullable=True),
        sa.Column("actual_start", sa.Date(), nullable=True),
        sa.Column("actual_end", sa.Date(), nullable=True),
        sa.Column("budget_usd", Money(), nullable=False),
        sa.Column("iati_identifier", sa.String(length=120), nullable=False),
        sa.Column("adm1", sa.String(length=100), nullable=True),
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
            name=op.f("ck_funding_projects_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_funding_projects_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('pipeline', 'in_progress', 'completed', 'suspended', 'cancelled')",
            name=op.f("ck_funding_projects_status"),
        ),
        sa.CheckConstraint("budget_usd >= 0", name=op.f("ck_funding_projects_budget")),
        sa.ForeignKeyConstraint(
            ["implementing_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_projects_implementing_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_projects_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["funding_programmes.id"],
            name=op.f("fk_funding_projects_programme_id_funding_programmes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_projects")),
        sa.UniqueConstraint("iati_identifier", name=op.f("uq_funding_projects_iati_identifier")),
    )
    with op.batch_alter_table("funding_projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funding_projects_implementing_org_id"),
            ["implementing_org_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_funding_projects_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_funding_projects_programme_id"), ["programme_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_funding_projects_status"), ["status"], unique=False)

    op.create_table(
        "funding_flows",
        sa.Column("lineage_id", sa.Integer(), nullable=True),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fulfils_id", sa.Integer(), nullable=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("exchange_rate", ExchangeRate(), nullable=False),
        sa.Column("rate_date", sa.Date(), nullable=False),
        sa.Column("amount_usd", Money(), nullable=False),
        sa.Column("converted_usd", Money(), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("flow_date", sa.Date(), nullable=False),
        sa.Column("first_reported_date", sa.Date(), nullable=False),
        sa.Column("donor_org_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=True),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_funding_flows_release_list"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_funding_flows_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('pledge', 'commitment', 'paid')", name=op.f("ck_funding_flows_status")
        ),
        sa.CheckConstraint(
            "amount > 0 AND amount_usd >= 0 AND exchange_rate > 0",
            name=op.f("ck_funding_flows_amounts"),
        ),
        sa.CheckConstraint("flow_date >= decision_date", name=op.f("ck_funding_flows_dates")),
        sa.CheckConstraint("version_no >= 1", name=op.f("ck_funding_flows_version_no")),
        sa.ForeignKeyConstraint(
            ["donor_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_flows_donor_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["fulfils_id"],
            ["funding_flows.id"],
            name=op.f("fk_funding_flows_fulfils_id_funding_flows"),
        ),
        sa.ForeignKeyConstraint(
            ["lineage_id"],
            ["funding_flows.id"],
            name=op.f("fk_funding_flows_lineage_id_funding_flows"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_flows_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["funding_phases.id"],
            name=op.f("fk_funding_flows_phase_id_funding_phases"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["funding_plans.id"], name=op.f("fk_funding_flows_plan_id_funding_plans")
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["funding_programmes.id"],
            name=op.f("fk_funding_flows_programme_id_funding_programmes"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["funding_projects.id"],
            name=op.f("fk_funding_flows_project_id_funding_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_flows")),
        sa.UniqueConstraint("lineage_id", "version_no", name=op.f("uq_funding_flows_lineage_id")),
    )
    with op.batch_alter_table("funding_flows", schema=None) as batch_op:
        batch_op.create_index(
            "ix_funding_flows_converting",
            [
                "fulfils_id",
                "is_current",
                "amount_usd",
                "releasability",
                "owner_org_id",
                "release_to",
            ],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_funding_flows_lineage_id"), ["lineage_id"], unique=False
        )
        # the reports' GROUP BY reads one of these only (each also serves its column alone)
        for column in ("donor_org_id", "phase_id", "programme_id", "flow_date"):
            batch_op.create_index(
                f"ix_funding_flows_report_{column}",
                [
                    column,
                    "is_current",
                    "status",
                    "amount_usd",
                    "converted_usd",
                    "lineage_id",
                    "releasability",
                    "owner_org_id",
                    "release_to",
                ],
                unique=False,
            )
        batch_op.create_index(
            batch_op.f("ix_funding_flows_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_funding_flows_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_funding_flows_project_id"), ["project_id"], unique=False
        )

    dialect = op.get_bind().dialect.name
    for statement in create_spatial_index(dialect, "funding_projects"):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in drop_spatial_index(dialect, "funding_projects"):
        op.execute(statement)
    for table in TABLES:
        op.drop_table(table)
