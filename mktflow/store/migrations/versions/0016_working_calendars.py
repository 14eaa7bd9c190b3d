"""organisation and work: branches' working calendars, and how a due time was computed

``branch.calendar``: the organisation file's ``calendar`` of the branch (country, region, time
zone, week, hours, company days; JSON), None for a branch counting in calendar hours.
``workitem.due_basis`` and ``handoff.due_basis``: how a due time given in working time was
computed ("3 working days from Fri 30 Sep 2022 17:00 Asia/Shanghai (hq, CN): skips ..."),
None for one given as a time and for rows before this revision (issue 25).

Revision ID: 0016_working_calendars
Revises: 0015_flow_version
Create Date: 2026-12-06 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0016_working_calendars"
down_revision: str | Sequence[str] | None = "0015_flow_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("branch") as batch:
        batch.add_column(sa.Column("calendar", sa.JSON(), nullable=True))
    for table in ("workitem", "handoff"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(
                "due_basis", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))


def downgrade() -> None:
    for table in ("handoff", "workitem"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("due_basis")
    with op.batch_alter_table("branch") as batch:
        batch.drop_column("calendar")
