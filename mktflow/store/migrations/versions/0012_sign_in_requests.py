"""sign-in: requests counted by the rate limits; how each audit entry's actor was identified;
no sign-in code left in clear in the outbox

Revision ID: 0012_sign_in_requests
Revises: 0011_web_sessions
Create Date: 2026-12-06 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

# signin branch (issue 19, items 6 and 9); chained after 0011 when the branches are merged
revision: str = "0012_sign_in_requests"
down_revision: str | Sequence[str] | None = "0011_web_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime

#: What a sign-in message written before this revision becomes: its link (the live code, in
#: clear) is gone, and one not sent yet is not sent at all (its code is lost with the link).
_REDACTED = ("sign-in link removed by migration 0012 (the code was stored in clear); "
             "ask for a new one")


def upgrade() -> None:
    op.create_table(
        "signinrequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _T(timezone=True), nullable=False),
        sa.Column("address_key", _S(length=64), nullable=False),
        sa.Column("client_key", _S(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signinrequest_address", "signinrequest", ["address_key", "at"])
    op.create_index("ix_signinrequest_client", "signinrequest", ["client_key", "at"])
    op.create_index("ix_signinrequest_at", "signinrequest", ["at"])
    with op.batch_alter_table("auditentry") as batch:
        batch.add_column(sa.Column("identified_by", _S(length=60), nullable=True))
    _redact_sign_in_links()


def _redact_sign_in_links() -> None:
    """Sign-in messages of older releases carry ``/sign-in/<code>`` in ``link`` and in
    ``payload["link"]``: drop both; those still waiting to be sent are dead-lettered."""
    outbox = sa.table("outboxmessage", sa.column("id", _S()), sa.column("link", _S()),
                      sa.column("payload", sa.JSON()), sa.column("event", _S()),
                      sa.column("status", _S()), sa.column("last_error", _S()))
    conn = op.get_bind()
    rows = conn.execute(sa.select(outbox.c.id, outbox.c.payload, outbox.c.status)
                        .where(outbox.c.event == "member.sign_in_link")).all()
    for row in rows:
        payload = {k: v for k, v in dict(row.payload or {}).items() if k != "link"}
        values: dict[str, object] = {"link": None, "payload": payload}
        if row.status in ("pending", "sending"):
            values.update(status="dead", last_error=_REDACTED)
        conn.execute(sa.update(outbox).where(outbox.c.id == row.id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("auditentry") as batch:
        batch.drop_column("identified_by")
    op.drop_index("ix_signinrequest_at", table_name="signinrequest")
    op.drop_index("ix_signinrequest_client", table_name="signinrequest")
    op.drop_index("ix_signinrequest_address", table_name="signinrequest")
    op.drop_table("signinrequest")
