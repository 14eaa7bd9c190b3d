"""work quadrants: whether a work item is important and whether it is urgent (seed 000)

``workitem.important``, ``workitem.urgent``: null when the creator did not say (the item is
then unclassified in the department's balance of work).

Revision ID: 0027_work_quadrants
Revises: 0026_training
Create Date: 2026-12-07 04:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_work_quadrants"
down_revision: str | Sequence[str] | None = "0026_training"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workitem") as batch:
        batch.add_column(sa.Column("important", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("urgent", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workitem") as batch:
        batch.drop_column("urgent")
        batch.drop_column("important")
