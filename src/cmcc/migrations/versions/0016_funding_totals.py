"""Funding: converted totals kept per marking

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

`funding_totals` holds, per grouping (phase, sector, month), plan, donor, group, status, marking
of the flows and set of markings of their converting flows, the cents the funding summary sums
(`cmcc.funding.totals`); `funding_total_markings` the markings of each set, which the release
policy reads. Filled here from the existing flows (`totals.rebuild`), then kept on every write.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funding_totals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grouping", sa.String(length=8), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("donor_org_id", sa.Integer(), nullable=False),
        sa.Column("group_key", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("marking", sa.String(length=40), nullable=False),
        sa.Column("conversions", sa.String(length=40), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.Column("flows", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "grouping IN ('phase', 'sector', 'month')", name=op.f("ck_funding_totals_grouping")
        ),
        sa.CheckConstraint(
            "status IN ('pledge', 'commitment', 'paid')", name=op.f("ck_funding_totals_status")
        ),
        sa.ForeignKeyConstraint(
            ["donor_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_totals_donor_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["funding_plans.id"], name=op.f("fk_funding_totals_plan_id_funding_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_totals")),
        sa.UniqueConstraint(
            "grouping",
            "plan_id",
            "donor_org_id",
            "group_key",
            "status",
            "marking",
            "conversions",
            name=op.f("uq_funding_totals_grouping"),
        ),
    )
    with op.batch_alter_table("funding_totals") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_funding_totals_donor_org_id"), ["donor_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_funding_totals_plan_id"), ["plan_id"], unique=False)
    op.create_table(
        "funding_total_markings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_key", sa.String(length=40), nullable=False),
        sa.Column("member", sa.String(length=40), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_funding_total_markings_marking"),
        ),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_funding_total_markings_release_list"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_funding_total_markings_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funding_total_markings")),
        sa.UniqueConstraint("set_key", "member", name=op.f("uq_funding_total_markings_set_key")),
    )
    # the totals of the flows already recorded (the code of this release computes them)
    from cmcc.funding import totals

    totals.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("funding_total_markings")
    op.drop_table("funding_totals")
