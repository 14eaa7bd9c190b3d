"""outbox: drop the never-written dedupe_key (idempotency is the message id)

Revision ID: 0006_outbox_drop_dedupe_key
Revises: 0005_work_draft
Create Date: 2026-11-29 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_outbox_drop_dedupe_key"
down_revision: str | Sequence[str] | None = "0005_work_draft"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.drop_constraint("uq_outbox_dedupe", type_="unique")
        batch.drop_column("dedupe_key")


def downgrade() -> None:
    with op.batch_alter_table("outboxmessage") as batch:
        batch.add_column(sa.Column("dedupe_key", sa.String(length=300), nullable=True))
        batch.create_unique_constraint("uq_outbox_dedupe", ["dedupe_key"])
