"""digest choices: each member's choice of one notice per change or a daily digest

``digestchoice``: one row per member who chose (issue 24, item 6): the mode (``each`` or
``daily``) and the time of day of the digest (minutes after midnight in the member's working
calendar's zone). Outbox rows held for a digest use the existing ``status`` column
(``held``, then ``digested``).

Revision ID: 0021_digest_choices
Revises: 0020_calendar_feeds
Create Date: 2026-12-07 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0021_digest_choices"
down_revision: str | Sequence[str] | None = "0020_calendar_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "digestchoice",
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("mode", _S(length=10), nullable=False),
        sa.Column("at_minute", sa.Integer(), nullable=False),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("member_email"),
    )


def downgrade() -> None:
    op.drop_table("digestchoice")
