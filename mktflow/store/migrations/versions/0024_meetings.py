"""meetings: the quarterly and annual planning meetings of marketing, their decisions

``meeting``: one row per period (a quarter or a year; seed 001, 市场营销部 工作流程 1.(1) A):
its agenda, minutes (held on, attendees, summary), who approved them and when they were sent to
whom. ``meetingdecision``: each decision of the minutes (text, owner, due date, departments
concerned) and the work item or handoff it became.

Revision ID: 0024_meetings
Revises: 0023_complaints
Create Date: 2026-12-07 04:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0024_meetings"
down_revision: str | Sequence[str] | None = "0023_complaints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", _S(length=10), nullable=False),
        sa.Column("period", _S(length=20), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=True),
        sa.Column("state", _S(length=10), nullable=False),
        sa.Column("agenda", _S(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("attendees", _S(), nullable=False),
        sa.Column("summary", _S(), nullable=False),
        sa.Column("minutes_by", _S(length=320), nullable=True),
        sa.Column("approved_by", _S(length=320), nullable=True),
        sa.Column("approved_at", _T(timezone=True), nullable=True),
        sa.Column("sent_to", sa.JSON(), nullable=False),
        sa.Column("sent_at", _T(timezone=True), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["process_id"], ["processinstance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period"),
    )
    op.create_table(
        "meetingdecision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", _S(), nullable=False),
        sa.Column("owner_email", _S(length=320), nullable=False),
        sa.Column("owner_department", _S(length=64), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=True),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.ForeignKeyConstraint(["work_item_id"], ["workitem.id"]),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "number"),
    )
    with op.batch_alter_table("meetingdecision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetingdecision_meeting_id"), ["meeting_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meetingdecision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetingdecision_meeting_id"))
    op.drop_table("meetingdecision")
    op.drop_table("meeting")
