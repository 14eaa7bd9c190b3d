"""The work engine's tables as plain SQLAlchemy Core, for the reads that must start fast.

A command that only reads (``mktflow inbox``, ``mktflow work show``) needs neither the ORM nor
the SQLModel classes, whose import and class building cost a good part of a second in a fresh
process. These are the same tables as ``mktflow.store.tables.work`` (same names, columns and
types) declared on a MetaData of their own, only for reading: migrations and writes use the
models. ``tests/unit/test_lazy_imports.py`` checks that the two agree column by column.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, Integer, MetaData, String, Table, Text

from mktflow.store.types import UTCDateTime

__all__ = ["department", "handoff", "processinstance", "workitem"]

metadata = MetaData()


def _text(name: str, length: int | None = None, nullable: bool = True) -> Column[str]:
    return Column(name, String(length) if length else Text(), nullable=nullable)


def _time(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, UTCDateTime(), nullable=nullable)


department = Table(
    "department", metadata,
    _text("code", 64), _text("name", 200), _text("delegate_email", 320),
    Column("head_away_from", Date), Column("head_away_until", Date),
)

processinstance = Table(
    "processinstance", metadata,
    Column("id", Integer, primary_key=True), _text("process", 100), _text("business_key", 200),
    _text("owner_email", 320), _text("branch", 64), _text("status", 20),
    _text("flow_run_id", 64), _text("flow_version", 100), Column("params", JSON),
    Column("result", JSON),
    _time("created_at", False), _time("updated_at", False),
)

workitem = Table(
    "workitem", metadata,
    Column("id", Integer, primary_key=True), Column("process_id", Integer),
    _text("step_key", 200), _text("department", 64), _text("branch", 64), _text("title", 300),
    _text("description"), Column("words", JSON), _text("state", 20), _text("assignee_email", 320),
    _text("owner_email", 320), _text("form_name", 200), Column("form_schema", JSON),
    Column("data", JSON), Column("draft", JSON), Column("excluded", JSON),
    Column("approval", JSON), Column("priority", Integer), Column("important", Boolean),
    Column("urgent", Boolean), _time("due_at"),
    _text("due_basis", 2000), _time("follow_up_at"),
    Column("escalation_level", Integer), _text("created_by", 320), _text("completed_by", 320),
    _time("created_at", False), _time("updated_at", False), _time("completed_at"),
    Column("version", Integer),
)

handoff = Table(
    "handoff", metadata,
    Column("id", Integer, primary_key=True), _text("kind", 30), Column("process_id", Integer),
    _text("step_key", 200), _text("from_department", 64), _text("to_department", 64),
    _text("branch", 64), _text("title", 300), _text("criteria"), Column("words", JSON),
    Column("deliverables", JSON),
    _text("state", 20), Column("data", JSON), _text("reason"), Column("return_count", Integer),
    _time("due_at"), _text("due_basis", 2000), Column("escalation_level", Integer),
    _text("offered_by", 320),
    _text("signed_by", 320), _time("created_at", False), _time("updated_at", False),
    _time("accepted_at"), _time("delivered_at"), _time("closed_at"), Column("version", Integer),
)
