"""processes: the flow version each process ran on

``processinstance.flow_version``: Prefect's version of the flow that started the process (by
default a hash of the flow's source file), updated, with an audit entry, when its run is
resumed on changed flow code or moved to it by ``mktflow process migrate`` (issue 20, item 8).
None for processes started before this revision.

Revision ID: 0015_flow_version
Revises: 0014_destination_backoff
Create Date: 2026-12-06 16:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0015_flow_version"
down_revision: str | Sequence[str] | None = "0014_destination_backoff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processinstance") as batch:
        batch.add_column(sa.Column("flow_version", sqlmodel.sql.sqltypes.AutoString(length=100),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("processinstance") as batch:
        batch.drop_column("flow_version")
