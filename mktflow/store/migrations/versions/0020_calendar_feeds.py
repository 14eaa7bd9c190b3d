"""calendar feeds: each member's secret campaign-calendar feed URL, stored hashed

``calendarfeed``: one row per feed URL a member made (issue 24, item 4): the SHA-256 of its
secret, the member, when it was made, revoked and last read.

Revision ID: 0020_calendar_feeds
Revises: 0019_work_reports
Create Date: 2026-12-06 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0020_calendar_feeds"
down_revision: str | Sequence[str] | None = "0019_work_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "calendarfeed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", _S(length=64), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("revoked_at", _T(timezone=True), nullable=True),
        sa.Column("last_used_at", _T(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("calendarfeed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendarfeed_secret_hash"), ["secret_hash"],
                              unique=True)
        batch_op.create_index(batch_op.f("ix_calendarfeed_member_email"), ["member_email"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calendarfeed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendarfeed_member_email"))
        batch_op.drop_index(batch_op.f("ix_calendarfeed_secret_hash"))
    op.drop_table("calendarfeed")
