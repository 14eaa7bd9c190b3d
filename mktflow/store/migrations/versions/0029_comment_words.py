"""comment words: a system comment's text and reason kept as a message and its values (issue 25)

``auditentry.words``: the text and reason a flow or the engine wrote on a step's history (the
comment a flow adds when it sends an answer back, ``Asked again: …``), as ``{"text":
{"msgid": ..., "values": {...}}, "reason": {...}}`` (``mktflow.domain.words``), worded in each
reader's language on the pages. A comment lives in the audit trail (an entry whose action is
``comment``, its text in ``data.text``), so the column is on that table; the English stays in
``data.text`` and ``reason`` for the API, the command line and the Prefect UI. Existing rows and
typed comments keep null: shown as stored.

Revision ID: 0029_comment_words
Revises: 0028_sla_indexes
Create Date: 2026-12-07 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029_comment_words"
down_revision: str | Sequence[str] | None = "0028_sla_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auditentry") as batch:
        batch.add_column(sa.Column("words", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auditentry") as batch:
        batch.drop_column("words")
