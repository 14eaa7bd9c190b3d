"""idempotency keys: the REST API keeps the answer to a POST sent with an Idempotency-Key

A client whose answer was lost sends the POST again with the same key and gets the first
answer, not a second change (``mktflow.engine.idempotency``). One row per member and key:
what the request was (its fingerprint), which attempt holds it and until when, whether its
change was committed (stamped in the change's own transaction) and the answer kept; rows are
removed once ``expires_at`` passes (``MKTFLOW_IDEMPOTENCY_KEY_HOURS``).

Revision ID: 0013_idempotency_keys
Revises: 0012_sign_in_requests
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0013_idempotency_keys"
down_revision: str | Sequence[str] | None = "0012_sign_in_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "idempotencykey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("key", _S(length=255), nullable=False),
        sa.Column("fingerprint", _S(length=64), nullable=False),
        sa.Column("request", _S(length=2100), nullable=False),
        sa.Column("attempt", _S(length=32), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("expires_at", _T(timezone=True), nullable=False),
        sa.Column("leased_until", _T(timezone=True), nullable=False),
        sa.Column("changed_at", _T(timezone=True), nullable=True),
        sa.Column("answered_at", _T(timezone=True), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("idempotencykey", schema=None) as batch_op:
        batch_op.create_index("ix_idempotencykey_member_key", ["member_email", "key"],
                              unique=True)
        batch_op.create_index(batch_op.f("ix_idempotencykey_expires_at"), ["expires_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("idempotencykey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotencykey_expires_at"))
        batch_op.drop_index("ix_idempotencykey_member_key")
    op.drop_table("idempotencykey")
