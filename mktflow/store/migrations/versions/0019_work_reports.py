"""work reports: every member's daily report to their head, and the weekly and monthly ones

``workreport``: one row per member, kind (daily, weekly, monthly) and period (seed 001,
市场部管理制度 4 and 管理规定 2.(2)): what was done, the problems met, what comes next, the
daily step it answers, when it was due and who submitted it when.

Revision ID: 0019_work_reports
Revises: 0018_saved_views
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0019_work_reports"
down_revision: str | Sequence[str] | None = "0018_saved_views"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "workreport",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("branch", _S(length=64), nullable=True),
        sa.Column("kind", _S(length=10), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("done", _S(), nullable=False),
        sa.Column("problems", _S(), nullable=False),
        sa.Column("next", _S(), nullable=False),
        sa.Column("work_item_id", sa.Integer(), nullable=True),
        sa.Column("due_at", _T(timezone=True), nullable=True),
        sa.Column("submitted_by", _S(length=320), nullable=False),
        sa.Column("submitted_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["work_item_id"], ["workitem.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_email", "kind", "period_start"),
    )
    with op.batch_alter_table("workreport", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workreport_member_email"), ["member_email"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_workreport_department"), ["department"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_workreport_period_start"), ["period_start"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("workreport", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workreport_period_start"))
        batch_op.drop_index(batch_op.f("ix_workreport_department"))
        batch_op.drop_index(batch_op.f("ix_workreport_member_email"))
    op.drop_table("workreport")
