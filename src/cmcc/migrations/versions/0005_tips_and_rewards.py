"""public tips and rewards

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Public tips (text, an optional point, a photo re-encoded without metadata in a table of its
own), their links to search tasks and recoveries, rewards (nominated, approved, paid), and the
proof-of-work challenges already used. Tips keep their place as two nullable columns (a tip may
describe the place in words only), so the table has no spatial index; the fraud signals look
nearby tips up by an index on latitude and a longitude range.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime
from cmcc.core.types import Money

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tip_challenges_used",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_tip_challenges_used")),
    )
    with op.batch_alter_table("tip_challenges_used", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tip_challenges_used_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "tips",
        sa.Column("locator", sa.String(length=8), nullable=False),
        sa.Column("claim_hash", sa.String(length=200), nullable=False),
        sa.Column("claim_redeemed_at", UTCDateTime(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("place", sa.String(length=500), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("triage_note", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(duplicate_of_id IS NULL) OR outcome = 'duplicate'", name=op.f("ck_tips_duplicate")
        ),
        sa.CheckConstraint(
            "(outcome IS NULL) = (status <> 'closed')", name=op.f("ck_tips_closed_outcome")
        ),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)", name=op.f("ck_tips_release_list")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('led_to_recovery', 'no_result', 'false', 'duplicate')",
            name=op.f("ck_tips_outcome"),
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')", name=op.f("ck_tips_marking")
        ),
        sa.CheckConstraint(
            "status IN ('received', 'under_review', 'closed')", name=op.f("ck_tips_status")
        ),
        sa.CheckConstraint("(lon IS NULL) = (lat IS NULL)", name=op.f("ck_tips_location")),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["tips.id"], name=op.f("fk_tips_duplicate_of_id_tips")
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"], ["organizations.id"], name=op.f("fk_tips_owner_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tips")),
        sa.UniqueConstraint("locator", name=op.f("uq_tips_locator")),
    )
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.create_index("ix_tips_created_at", ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_lat"), ["lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tips_status"), ["status"], unique=False)

    op.create_table(
        "rewards",
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("nominated_by", sa.String(length=120), nullable=False),
        sa.Column("nominated_by_user_id", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("approved_by_user_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("paid_by", sa.String(length=120), nullable=True),
        sa.Column("paid_by_user_id", sa.Integer(), nullable=True),
        sa.Column("paid_at", UTCDateTime(), nullable=True),
        sa.Column("paid_amount", Money(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_org_id", sa.Integer(), nullable=False),
        sa.Column("releasability", sa.String(length=8), nullable=False),
        sa.Column("release_to", sa.String(length=1000), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(releasability = 'rel') = (release_to IS NOT NULL)",
            name=op.f("ck_rewards_release_list"),
        ),
        sa.CheckConstraint(
            "(status = 'paid') = (paid_at IS NOT NULL)", name=op.f("ck_rewards_paid")
        ),
        sa.CheckConstraint(
            "releasability IN ('public', 'mission', 'rel', 'owner')",
            name=op.f("ck_rewards_marking"),
        ),
        sa.CheckConstraint(
            "status IN ('nominated', 'approved', 'paid')", name=op.f("ck_rewards_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_rewards_amount")),
        sa.ForeignKeyConstraint(
            ["approved_by_user_id"], ["users.id"], name=op.f("fk_rewards_approved_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["nominated_by_user_id"],
            ["users.id"],
            name=op.f("fk_rewards_nominated_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_rewards_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["paid_by_user_id"], ["users.id"], name=op.f("fk_rewards_paid_by_user_id_users")
        ),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_rewards_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rewards")),
        sa.UniqueConstraint("tip_id", name=op.f("uq_rewards_tip_id")),
    )
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rewards_owner_org_id"), ["owner_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rewards_status"), ["status"], unique=False)

    op.create_table(
        "tip_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tip_id"], ["tips.id"], name=op.f("fk_tip_photos_tip_id_tips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tip_photos")),
        sa.UniqueConstraint("tip_id", name=op.f("uq_tip_photos_tip_id")),
    )
    with op.batch_alter_table("tip_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tip_photos_sha256"), ["sha256"], unique=False)

    op.create_table(
        "tip_search_tasks",
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("search_task_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["search_task_id"],
            ["search_tasks.id"],
            name=op.f("fk_tip_search_tasks_search_task_id_search_tasks"),
        ),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_tip_search_tasks_tip_id_tips")
        ),
        sa.PrimaryKeyConstraint("tip_id", "search_task_id", name=op.f("pk_tip_search_tasks")),
    )
    with op.batch_alter_table("tip_search_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tip_search_tasks_search_task_id"), ["search_task_id"], unique=False
        )

    op.create_table(
        "tip_recoveries",
        sa.Column("tip_id", sa.Integer(), nullable=False),
        sa.Column("recovery_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["recovery_id"],
            ["recoveries.id"],
            name=op.f("fk_tip_recoveries_recovery_id_recoveries"),
        ),
        sa.ForeignKeyConstraint(
            ["tip_id"], ["tips.id"], name=op.f("fk_tip_recoveries_tip_id_tips")
        ),
        sa.PrimaryKeyConstraint("tip_id", "recovery_id", name=op.f("pk_tip_recoveries")),
    )
    with op.batch_alter_table("tip_recoveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tip_recoveries_recovery_id"), ["recovery_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tip_recoveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_recoveries_recovery_id"))
    op.drop_table("tip_recoveries")
    with op.batch_alter_table("tip_search_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_search_tasks_search_task_id"))
    op.drop_table("tip_search_tasks")
    with op.batch_alter_table("tip_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_photos_sha256"))
    op.drop_table("tip_photos")
    with op.batch_alter_table("rewards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rewards_status"))
        batch_op.drop_index(batch_op.f("ix_rewards_owner_org_id"))
    op.drop_table("rewards")
    with op.batch_alter_table("tips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tips_status"))
        batch_op.drop_index(batch_op.f("ix_tips_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_tips_lat"))
        batch_op.drop_index("ix_tips_created_at")
    op.drop_table("tips")
    with op.batch_alter_table("tip_challenges_used", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tip_challenges_used_expires_at"))
    op.drop_table("tip_challenges_used")
