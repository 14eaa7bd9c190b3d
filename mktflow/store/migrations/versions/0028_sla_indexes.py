"""sla: partial indexes that serve the SLA sweep's look-up of overdue work on both databases

``ix_workitem_sla`` (open work items below the top escalation level, by due time) and
``ix_handoff_sla`` (handoffs the receiving department owes, likewise): the sweep
(``mktflow.engine.sla``) reads the overdue rows from them instead of scanning every open item
(issue 22, target 6: 1,000,000 open items, 10,000 overdue).

Revision ID: 0028_sla_indexes
Revises: 0027_work_quadrants
Create Date: 2026-12-07 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028_sla_indexes"
down_revision: str | Sequence[str] | None = "0027_work_quadrants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SLA_WORK = "state IN ('open', 'claimed', 'delegated') AND escalation_level < 3"
_SLA_HANDOFF = "state IN ('offered', 'accepted', 'returned') AND escalation_level < 3"

_INDEXES = [
    ("ix_workitem_sla", "workitem", ["due_at"], _SLA_WORK),
    ("ix_handoff_sla", "handoff", ["due_at"], _SLA_HANDOFF),
]


def upgrade() -> None:
    for name, table, columns, where in _INDEXES:
        op.create_index(name, table, columns, unique=False,
                        sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, table, _columns, _where in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
