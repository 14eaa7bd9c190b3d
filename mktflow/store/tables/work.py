"""SQLModel tables of the work engine: organisation, processes, work items, handoffs, audit, outbox.

Alembic migrations in ``mktflow/store/migrations`` create them; ``SQLModel.metadata`` is their
target. The business, cycle and notification tables live beside it in this package.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from mktflow.domain.inputs import (
    CODE_MAX,
    EMAIL_MAX,
    KEY_MAX,
    NAME_MAX,
    REASON_MAX,
    TEXT_MAX,
    TITLE_MAX,
)
from mktflow.store.columns import created_field, json_field, text_field, timestamp_field

__all__ = [
    "AuditEntry",
    "Branch",
    "Department",
    "Handoff",
    "Member",
    "OutboxMessage",
    "ProcessInstance",
    "WorkItem",
]

#: The WHERE of the inbox's partial indexes; queries repeat them word for word (literal values,
#: so SQLite's planner can match them) - see mktflow/engine/inbox.py.
_OPEN_WORK = "state IN ('open', 'claimed', 'delegated')"
_RECEIVER_ACTS = "state IN ('offered', 'accepted', 'returned')"
_DELIVERED = "state IN ('delivered')"
#: The WHERE of the SLA sweep's partial indexes (migration 0028, ``mktflow.engine.sla``): open
#: work and handoffs the receiver owes, below the top escalation level; repeated word for word.
_SLA_WORK = _OPEN_WORK + " AND escalation_level < 3"
_SLA_HANDOFF = _RECEIVER_ACTS + " AND escalation_level < 3"


class Branch(SQLModel, table=True):
    """Headquarters or a regional branch."""

    code: str = Field(primary_key=True, max_length=CODE_MAX)
    name: str = Field(max_length=NAME_MAX)
    is_hq: bool = False
    # its working calendar, the organisation file's ``calendar`` (CalendarSpec as JSON); None:
    # calendar hours (mktflow.engine.calendars)
    calendar: dict[str, Any] | None = json_field()


class Department(SQLModel, table=True):
    """A department; its delegate leads it while the head is away."""

    code: str = Field(primary_key=True, max_length=CODE_MAX)
    name: str = Field(max_length=NAME_MAX)
    delegate_email: str | None = Field(default=None, max_length=EMAIL_MAX)
    head_away_from: date | None = None
    head_away_until: date | None = None


class Member(SQLModel, table=True):
    """A person in a department and a branch."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=EMAIL_MAX, unique=True, index=True)
    name: str = Field(max_length=NAME_MAX)
    department: str = Field(foreign_key="department.code", max_length=CODE_MAX, index=True)
    branch: str = Field(foreign_key="branch.code", max_length=CODE_MAX)
    role: str = Field(max_length=20)
    active: bool = True
    #: The language of their pages and notices (``en``, ``zh``, ``es``, ``ru``); None: the
    #: browser's (pages) and English (notices). Since migration 0021.
    language: str | None = Field(default=None, max_length=8)


class ProcessInstance(SQLModel, table=True):
    """One run of a business process, linked to its Prefect flow run."""

    id: int | None = Field(default=None, primary_key=True)
    process: str = Field(max_length=100, index=True)
    business_key: str = Field(max_length=KEY_MAX, unique=True)
    owner_email: str = Field(max_length=EMAIL_MAX)
    branch: str | None = Field(default=None, max_length=CODE_MAX)
    status: str = Field(max_length=20, index=True)
    flow_run_id: str | None = Field(default=None, max_length=CODE_MAX, index=True)
    #: Prefect's version of the flow the run runs (by default a hash of the flow's source);
    #: None before migration 0015.
    flow_version: str | None = Field(default=None, max_length=100)
    params: dict[str, Any] | None = json_field()
    result: dict[str, Any] | None = json_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class WorkItem(SQLModel, table=True):
    """A human step owned by a department's queue, optionally held by one member."""

    __table_args__ = (
        Index("ix_workitem_queue", "department", "state", "due_at"),
        Index("ix_workitem_assignee", "assignee_email", "state", "due_at"),
        # the paged inbox (mktflow/engine/inbox.py): open items of a queue in due order
        Index("ix_workitem_inbox", "department", "due_at",
              sqlite_where=text(_OPEN_WORK), postgresql_where=text(_OPEN_WORK)),
        Index("ix_workitem_member_inbox", "assignee_email", "due_at",
              sqlite_where=text(_OPEN_WORK), postgresql_where=text(_OPEN_WORK)),
        # the SLA sweep (mktflow/engine/sla.py): open items not yet at the top level, by due
        Index("ix_workitem_sla", "due_at",
              sqlite_where=text(_SLA_WORK), postgresql_where=text(_SLA_WORK)),
        UniqueConstraint("process_id", "step_key", name="uq_workitem_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    process_id: int | None = Field(default=None, foreign_key="processinstance.id", index=True)
    step_key: str | None = Field(default=None, max_length=KEY_MAX)
    department: str = Field(foreign_key="department.code", max_length=CODE_MAX)
    branch: str | None = Field(default=None, max_length=CODE_MAX)
    title: str = Field(max_length=TITLE_MAX)
    description: str = text_field(TEXT_MAX, default="")
    #: The title and description as a process wrote them, to be worded in each reader's
    #: language (``{"title": {"msgid": ..., "values": {...}}}``, ``mktflow.domain.words``);
    #: None: as typed (and every row before migration 0023).
    words: dict[str, Any] | None = json_field()
    state: str = Field(max_length=20)
    assignee_email: str | None = Field(default=None, max_length=EMAIL_MAX)
    owner_email: str | None = Field(default=None, max_length=EMAIL_MAX)  # holder while delegated
    form_name: str | None = Field(default=None, max_length=NAME_MAX)
    form_schema: dict[str, Any] | None = json_field()
    data: dict[str, Any] | None = json_field()
    # the pre-filled answer every door offers (the Prefect UI form's defaults); never required
    draft: dict[str, Any] | None = json_field()
    excluded: list[str] = json_field(list)  # members who may not complete it (four eyes)
    # an approval step's authority-matrix rule {department, roles, branch, rule}: re-checked
    # against the organisation whenever the step is taken or decided
    approval: dict[str, Any] | None = json_field()
    priority: int = Field(default=50, ge=0, le=100)
    #: Seed 000's two axes (``mktflow.domain.planning.Quadrant``); None: not said.
    important: bool | None = None
    urgent: bool | None = None
    due_at: datetime | None = timestamp_field()
    # how a due time given in working time was computed (mktflow.domain.calendars); None for
    # one given as a time
    due_basis: str | None = Field(default=None, max_length=REASON_MAX)
    follow_up_at: datetime | None = timestamp_field()
    escalation_level: int = 0
    created_by: str = Field(max_length=EMAIL_MAX)
    completed_by: str | None = Field(default=None, max_length=EMAIL_MAX)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
    completed_at: datetime | None = timestamp_field()
    version: int = 1


class Handoff(SQLModel, table=True):
    """Work passed from one department to another; a responsibility letter binds a project."""

    __table_args__ = (
        Index("ix_handoff_queue", "to_department", "state", "due_at"),
        Index("ix_handoff_inbox", "to_department", "due_at",
              sqlite_where=text(_RECEIVER_ACTS), postgresql_where=text(_RECEIVER_ACTS)),
        Index("ix_handoff_awaiting", "from_department", "due_at",
              sqlite_where=text(_DELIVERED), postgresql_where=text(_DELIVERED)),
        Index("ix_handoff_sla", "due_at",
              sqlite_where=text(_SLA_HANDOFF), postgresql_where=text(_SLA_HANDOFF)),
        UniqueConstraint("process_id", "step_key", name="uq_handoff_step"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    process_id: int | None = Field(default=None, foreign_key="processinstance.id", index=True)
    step_key: str | None = Field(default=None, max_length=KEY_MAX)
    from_department: str = Field(foreign_key="department.code", max_length=CODE_MAX, index=True)
    to_department: str = Field(foreign_key="department.code", max_length=CODE_MAX)
    branch: str | None = Field(default=None, max_length=CODE_MAX)
    title: str = Field(max_length=TITLE_MAX)
    criteria: str = text_field(TEXT_MAX, default="")
    #: The title and criteria as a process wrote them (as on WorkItem); None: as typed.
    words: dict[str, Any] | None = json_field()
    deliverables: list[str] = json_field(list)
    state: str = Field(max_length=20)
    data: dict[str, Any] | None = json_field()
    # the reason given with the last reject / return / cancel
    reason: str | None = text_field(REASON_MAX)
    return_count: int = 0
    due_at: datetime | None = timestamp_field()
    due_basis: str | None = Field(default=None, max_length=REASON_MAX)  # as on WorkItem
    escalation_level: int = 0
    offered_by: str = Field(max_length=EMAIL_MAX)
    signed_by: str | None = Field(default=None, max_length=EMAIL_MAX)
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
    accepted_at: datetime | None = timestamp_field()
    delivered_at: datetime | None = timestamp_field()
    closed_at: datetime | None = timestamp_field()
    version: int = 1


class AuditEntry(SQLModel, table=True):
    """Append-only: one row per change, written in the same transaction as the change."""

    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_field()
    actor: str = Field(max_length=EMAIL_MAX)
    #: How the door knew who acts (domain.actors.IdentifiedBy: "member token", "typed in the
    #: Prefect UI form (not proven)", ...); None for the engine and entries before 0012.
    identified_by: str | None = Field(default=None, max_length=60)
    entity_type: str = Field(max_length=20)  # work | handoff | process | organisation
    entity_id: int
    process_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str | None = Field(default=None, max_length=20)
    reason: str | None = text_field(REASON_MAX)
    data: dict[str, Any] | None = json_field()
    changes: dict[str, Any] | None = json_field()  # field -> [old, new]
    #: The messages of the texts the engine or a flow wrote on the entry (a system comment's
    #: text, its reason), ``{"text": {"msgid": ..., "values": {...}}, "reason": {...}}``
    #: (``mktflow.domain.words``), worded in each reader's language; None for typed texts and
    #: entries before migration 0029.
    words: dict[str, Any] | None = json_field()


class OutboxMessage(SQLModel, table=True):
    """A notification to send, written with the change that caused it; the relay sends it."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=CODE_MAX)  # also the Idempotency-Key
    created_at: datetime = created_field()
    event: str = Field(max_length=60)
    department: str | None = Field(default=None, max_length=CODE_MAX)
    recipient_email: str | None = Field(default=None, max_length=EMAIL_MAX)
    channel_id: int | None = None
    subject: str = Field(max_length=TITLE_MAX)
    payload: dict[str, Any] = json_field(dict)
    link: str | None = None
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: datetime = created_field()
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = timestamp_field()
    last_error: str | None = None
    sent_at: datetime | None = timestamp_field()
