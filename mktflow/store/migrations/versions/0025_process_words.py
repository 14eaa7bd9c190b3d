"""process words: titles and texts processes write, kept as a message and its values (issue 25)

``workitem.words`` and ``handoff.words``: the title, description or criteria a flow or cycle
wrote, as ``{"title": {"msgid": ..., "values": {...}}}`` (``mktflow.domain.words``), worded in
each reader's language on the pages and in notices. The English text stays in its own column
for the API, the command line and search. Existing rows keep null: shown as stored (English).

Revision ID: 0025_process_words
Revises: 0024_meetings
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_process_words"
down_revision: str | Sequence[str] | None = "0024_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("workitem", "handoff"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("words", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("workitem", "handoff"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("words")
