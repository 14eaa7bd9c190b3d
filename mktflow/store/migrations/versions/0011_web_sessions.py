"""web sessions: a signed-in session on the departments' pages is a row, stored hashed

The pages' cookie used to carry the member's e-mail, signed: nothing on the server could end
it before its 12 hours were up. From this revision the cookie carries a random secret and the
``websession`` row (its SHA-256 digest, the member, how they signed in, when it was last used,
when and why it ended) decides on every request. Sessions signed in before the upgrade are
signed out by it (their cookie names no row).

Revision ID: 0011_web_sessions
Revises: 0010_inbox_indexes
Create Date: 2026-12-06 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0011_web_sessions"
down_revision: str | Sequence[str] | None = "0010_inbox_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "websession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", _S(length=64), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("signed_in_by", _S(length=10), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("last_seen_at", _T(timezone=True), nullable=False),
        sa.Column("ended_at", _T(timezone=True), nullable=True),
        sa.Column("ended_why", _S(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_websession_secret_hash"), ["secret_hash"],
                              unique=True)
        batch_op.create_index(batch_op.f("ix_websession_member_email"), ["member_email"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_websession_token_id"), ["token_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_websession_token_id"))
        batch_op.drop_index(batch_op.f("ix_websession_member_email"))
        batch_op.drop_index(batch_op.f("ix_websession_secret_hash"))
    op.drop_table("websession")
