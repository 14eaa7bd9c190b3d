"""training: the needs appraisals create, the departments' plans and their sessions

``trainingneed``: a member's need from their appraisal of a period (the KPIs missed);
``trainingplan``: a department's plan for a period, prepared in a step and approved by the head;
``trainingsession``: a plan's session (topic, participants, owner, days) and who attended
(seed 001, 团队建设规范 5.1 and 绩效评估 3; seed 003 §1(1)).

Revision ID: 0026_training
Revises: 0025_process_words
Create Date: 2026-12-07 04:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import mktflow.store.types

revision: str = "0026_training"
down_revision: str | Sequence[str] | None = "0025_process_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = mktflow.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "trainingneed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appraisal_id", sa.Integer(), nullable=False),
        sa.Column("period", _S(length=20), nullable=False),
        sa.Column("member_email", _S(length=320), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("branch", _S(length=64), nullable=True),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("attainment", sa.Float(), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["appraisal_id"], ["appraisal.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appraisal_id"),
    )
    with op.batch_alter_table("trainingneed", schema=None) as batch_op:
        for column in ("period", "member_email", "department"):
            batch_op.create_index(batch_op.f(f"ix_trainingneed_{column}"), [column],
                                  unique=False)
    op.create_table(
        "trainingplan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", _S(length=20), nullable=False),
        sa.Column("department", _S(length=64), nullable=False),
        sa.Column("status", _S(length=20), nullable=False),
        sa.Column("prepare_item_id", sa.Integer(), nullable=True),
        sa.Column("approval_item_id", sa.Integer(), nullable=True),
        sa.Column("prepared_by", _S(length=320), nullable=True),
        sa.Column("approved_by", _S(length=320), nullable=True),
        sa.Column("approved_at", _T(timezone=True), nullable=True),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("note", _S(), nullable=False),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["prepare_item_id"], ["workitem.id"]),
        sa.ForeignKeyConstraint(["approval_item_id"], ["workitem.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("period", "department", name="uq_trainingplan_dept"),
    )
    with op.batch_alter_table("trainingplan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trainingplan_department"), ["department"],
                              unique=False)
    op.create_table(
        "trainingsession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("topic", _S(length=200), nullable=False),
        sa.Column("owner_email", _S(length=320), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("attended", sa.JSON(), nullable=True),
        sa.Column("attendance_item_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", _S(length=320), nullable=True),
        sa.Column("recorded_at", _T(timezone=True), nullable=True),
        sa.Column("created_at", _T(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["trainingplan.id"]),
        sa.ForeignKeyConstraint(["attendance_item_id"], ["workitem.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trainingsession", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trainingsession_plan_id"), ["plan_id"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("trainingsession")
    op.drop_table("trainingplan")
    op.drop_table("trainingneed")
