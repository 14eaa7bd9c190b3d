"""complaints: customer complaints, each a case in customer service

``complaint``: one row per case (seed 001, 客户服务部 职责 and 工作流程 2.(1) C): the customer,
the order it is about, what the customer said, where it came in, its state (open, handed_over,
answered, closed), round and escalation level, the response deadline, the department acting on
it with the handoff to it and what was done, the customer's last answer, and its process.

Revision ID: 0023_complaints
Revises: 0022_member_language
Create Date: 2026-12-07 04:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0023_complaints"
down_revision: str | Sequence[str] | None = "0022_member_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_number", _S(length=100), nullable=True),
        sa.Column("text", _S(), nullable=False),
        sa.Column("source", _S(length=20), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("branch", _S(length=64), nullable=True),
        sa.Column("state", _S(length=20), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("respond_due", _T(timezone=True), nullable=True),
        sa.Column("acting_department", _S(length=64), nullable=True),
        sa.Column("request", _S(), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("done", _S(), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        sa.Column("customer_note", _S(), nullable=True),
        sa.Column("process_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", _S(length=320), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.Column("closed_at", _T(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaint_customer_id"), ["customer_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_handoff_id"), ["handoff_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_complaint_process_id"), ["process_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaint_process_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_handoff_id"))
        batch_op.drop_index(batch_op.f("ix_complaint_state"))
        batch_op.drop_index(batch_op.f("ix_complaint_customer_id"))
    op.drop_table("complaint")
