"""inbox: partial indexes that serve the paged, due-ordered inbox on both databases

Revision ID: 0010_inbox_indexes
Revises: 0006_outbox_drop_dedupe_key
Create Date: 2026-11-29 16:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_inbox_indexes"
down_revision: str | Sequence[str] | None = "0006_outbox_drop_dedupe_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPEN_WORK = "state IN ('open', 'claimed', 'delegated')"
_RECEIVER_ACTS = "state IN ('offered', 'accepted', 'returned')"
_DELIVERED = "state IN ('delivered')"

_INDEXES = [
    ("ix_workitem_inbox", "workitem", ["department", "due_at"], _OPEN_WORK),
    ("ix_workitem_member_inbox", "workitem", ["assignee_email", "due_at"], _OPEN_WORK),
    ("ix_handoff_inbox", "handoff", ["to_department", "due_at"], _RECEIVER_ACTS),
    ("ix_handoff_awaiting", "handoff", ["from_department", "due_at"], _DELIVERED),
]


def upgrade() -> None:
    for name, table, columns, where in _INDEXES:
        op.create_index(name, table, columns, unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, table, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
