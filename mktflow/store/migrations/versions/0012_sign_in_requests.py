"""audit: how each entry's actor was identified (the door's words)

Revision ID: 0012_sign_in_requests
Revises: 0010_inbox_indexes
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# signin branch (issue 19, items 6 and 9); chained after 0011 when the branches are merged
revision: str = "0012_sign_in_requests"
down_revision: str | Sequence[str] | None = "0010_inbox_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("auditentry") as batch:
        batch.add_column(sa.Column("identified_by", _S(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auditentry") as batch:
        batch.drop_column("identified_by")
