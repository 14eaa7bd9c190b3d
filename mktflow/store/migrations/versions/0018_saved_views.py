"""saved views: a department queue's filter sets saved by name, and each member's default

``savedview``: one row per saved view (issue #24 item 1): its name, owner, the department whose
queue it filters, whether the department sees it, and the queue page's filters (state, process,
due band, holder, priority band, text in the title). ``savedviewdefault``: the view a member
opens a department's queue with.

Revision ID: 0018_saved_views
Revises: 0017_leads
Create Date: 2026-12-06 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0018_saved_views"
down_revision: str | Sequence[str] | None = "0017_leads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "savedview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _S(length=80), nullable=False),
        sa.Column("owner_email", _S(length=320), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("state", _S(length=20), nullable=True),
        sa.Column("process", _S(length=200), nullable=True),
        sa.Column("due", _S(length=10), nullable=True),
        sa.Column("holder", _S(length=320), nullable=True),
        sa.Column("priority", _S(length=10), nullable=True),
        sa.Column("text", _S(length=100), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.Column("updated_at", _T(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_email", "department", "name",
                            name="uq_savedview_owner_department_name"),
    )
    with op.batch_alter_table("savedview", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_savedview_department"), ["department"],
                              unique=False)
    op.create_table(
        "savedviewdefault",
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("view_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["view_id"], ["savedview.id"]),
        sa.PrimaryKeyConstraint("member_email", "department"),
    )
    with op.batch_alter_table("savedviewdefault", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_savedviewdefault_view_id"), ["view_id"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("savedviewdefault", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_savedviewdefault_view_id"))
    op.drop_table("savedviewdefault")
    with op.batch_alter_table("savedview", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_savedview_department"))
    op.drop_table("savedview")
