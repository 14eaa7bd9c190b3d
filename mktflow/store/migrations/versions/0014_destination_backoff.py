"""destination backoff: the relays pause a receiver that asked them to wait

One row per destination (``http <host>:<port>`` of a webhook or Slack hook, ``smtp
<host>:<port>`` of the SMTP server) that answered 429/503/421, timed out or could not be
reached: no relay sends to it before ``until``; then one relay sends one message (the probe,
``probe_until``/``probe_by``) and the others wait for its answer (``mktflow.notify.destinations``).

Revision ID: 0014_destination_backoff
Revises: 0013_idempotency_keys
Create Date: 2026-12-06 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0014_destination_backoff"
down_revision: str | Sequence[str] | None = "0013_idempotency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "destinationbackoff",
        sa.Column("destination", _S(length=300), nullable=False),
        sa.Column("until", _T(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reason", _S(length=500), nullable=False),
        sa.Column("probe_until", _T(timezone=True), nullable=True),
        sa.Column("probe_by", _S(length=100), nullable=True),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("destination"),
    )


def downgrade() -> None:
    op.drop_table("destinationbackoff")
