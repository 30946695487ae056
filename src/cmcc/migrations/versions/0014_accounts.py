"""Accounts: a forced password change, token kinds and last use, the TOTP second factor

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

`users.password_must_change` (an administrator's reset), `api_tokens.kind` (issued, login,
web) and `api_tokens.last_used_at`; `user_totp` holds each user's TOTP secret (encrypted), when
it was confirmed, and the last time step accepted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cmcc.core.db import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "password_must_change", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="issued")
        )
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
    # Tokens made by a password sign-in so far carry the label "login".
    op.execute("UPDATE api_tokens SET kind = 'login' WHERE label = 'login'")
    op.create_table(
        "user_totp",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret", sa.String(length=200), nullable=False),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_totp_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_totp")),
    )


def downgrade() -> None:
    op.drop_table("user_totp")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("kind")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_must_change")
