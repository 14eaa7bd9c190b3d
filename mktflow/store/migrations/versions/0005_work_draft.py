"""work: the draft (pre-filled answer) of a work item

Revision ID: 0005_work_draft
Revises: 0004_cycles
Create Date: 2026-11-29 13:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_work_draft"
down_revision: str | Sequence[str] | None = "0004_cycles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workitem") as batch:
        batch.add_column(sa.Column("draft", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workitem") as batch:
        batch.drop_column("draft")
