"""member language: the language of a member's pages and notices (issue 25, part 2)

``member.language``: ``en``, ``zh``, ``es`` or ``ru`` from the organisation file; null: the
browser's language on the pages, English in notices.

Revision ID: 0022_member_language
Revises: 0021_digest_choices
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0022_member_language"
down_revision: str | Sequence[str] | None = "0021_digest_choices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.add_column(sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("member") as batch:
        batch.drop_column("language")
