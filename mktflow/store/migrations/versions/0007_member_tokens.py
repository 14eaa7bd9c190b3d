"""credentials: member tokens and one-time sign-in links, stored hashed; approval rule of steps

Revision ID: 0007_member_tokens
Revises: 0006_outbox_drop_dedupe_key
Create Date: 2026-11-29 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0007_member_tokens"
down_revision: str | Sequence[str] | None = "0006_outbox_drop_dedupe_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("workitem") as batch:
        batch.add_column(sa.Column("approval", sa.JSON(), nullable=True))
    op.create_table(
        "membertoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _S(length=64), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("created_by", _S(length=320), nullable=False),
        sa.Column("expires_at", _T(timezone=True), nullable=True),
        sa.Column("revoked_at", _T(timezone=True), nullable=True),
        sa.Column("last_used_at", _T(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("membertoken", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_membertoken_token_hash"), ["token_hash"],
                              unique=True)
        batch_op.create_index(batch_op.f("ix_membertoken_member_email"), ["member_email"],
                              unique=False)
    op.create_table(
        "signinlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", _S(length=64), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("next_path", _S(length=2000), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("expires_at", _T(timezone=True), nullable=False),
        sa.Column("used_at", _T(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signinlink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signinlink_code_hash"), ["code_hash"], unique=True)
        batch_op.create_index(batch_op.f("ix_signinlink_member_email"), ["member_email"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("signinlink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signinlink_member_email"))
        batch_op.drop_index(batch_op.f("ix_signinlink_code_hash"))
    op.drop_table("signinlink")
    with op.batch_alter_table("membertoken", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membertoken_member_email"))
        batch_op.drop_index(batch_op.f("ix_membertoken_token_hash"))
    op.drop_table("membertoken")
    with op.batch_alter_table("workitem") as batch:
        batch.drop_column("approval")
