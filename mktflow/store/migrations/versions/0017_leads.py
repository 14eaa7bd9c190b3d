"""leads: the sales leads marketing gathers and hands to sales

``lead``: one row per lead (seed 001, 市场营销部 工作流程 1.(2)): where it came from (a
campaign's business key, research, an imported file), the company and contact, channel,
region (branch), notes, the marketing member who owns it, its state (gathered, qualified,
disqualified, won, lost), the handoff that passed it to sales and the order a won lead became.

Revision ID: 0017_leads
Revises: 0016_working_calendars
Create Date: 2026-12-06 19:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0017_leads"
down_revision: str | Sequence[str] | None = "0016_working_calendars"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "lead",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", _S(length=20), nullable=False),
        sa.Column("campaign", _S(length=100), nullable=True),
        sa.Column("company", _S(length=300), nullable=False),
        sa.Column("contact", _S(length=300), nullable=False),
        sa.Column("channel", _S(length=64), nullable=False),
        sa.Column("branch", _S(length=64), nullable=True),
        sa.Column("notes", _S(), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("owner_email", _S(length=320), nullable=False),
        sa.Column("state", _S(length=20), nullable=False),
        sa.Column("reason", _S(), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("order_ref", _S(length=100), nullable=True),
        sa.Column("created_by", _S(length=320), nullable=False),
        sa.Column("qualified_at", _T(timezone=True), nullable=True),
        sa.Column("outcome_at", _T(timezone=True), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_campaign"), ["campaign"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_channel"), ["channel"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_lead_handoff_id"), ["handoff_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lead", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_handoff_id"))
        batch_op.drop_index(batch_op.f("ix_lead_state"))
        batch_op.drop_index(batch_op.f("ix_lead_channel"))
        batch_op.drop_index(batch_op.f("ix_lead_campaign"))
    op.drop_table("lead")
