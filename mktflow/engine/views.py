"""One work item or handoff as people and scripts read it, built from its columns.

``work_view`` and ``handoff_view`` take anything with the table's columns as attributes (a
model instance or a Core row) and the business key of its process. ``show_item`` reads one item
with plain Core (``mktflow.store.light``): no ORM, no SQLModel classes, so ``mktflow work show``
starts fast. ``queries.show`` answers through it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from mktflow.domain.actors import asks_decision
from mktflow.domain.errors import NotFound
from mktflow.domain.inputs import format_time
from mktflow.domain.model import OPEN_WORK_STATES, REF_PREFIX, HandoffState
from mktflow.engine import visibility
from mktflow.engine.refs import parse_ref
from mktflow.store import light
from mktflow.store.uow import UnitOfWork

__all__ = ["handoff_view", "show_item", "work_view"]

#: Handoff states in which the receiving department has to act (and can be late).
RECEIVER_ACTS = (HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.RETURNED)


def _iso(value: datetime | None) -> str | None:
    return format_time(value)  # the one time rule: UTC with Z (domain.inputs)


def work_view(item: Any, process: str | None, now: datetime | None = None) -> dict[str, Any]:
    """A work item (``W-12``) with its form, draft and data; ``process`` is its business key."""
    return {
        "id": item.id, "ref": f"{REF_PREFIX['work']}-{item.id}", "kind": "work",
        "state": item.state, "title": item.title, "description": item.description,
        "department": item.department, "branch": item.branch,
        "assignee": item.assignee_email, "owner": item.owner_email,
        "priority": item.priority, "due": _iso(item.due_at),
        "due_basis": item.due_basis,
        "follow_up": _iso(item.follow_up_at), "escalation_level": item.escalation_level,
        "overdue": bool(now and item.due_at and item.due_at < now
                        and item.state in OPEN_WORK_STATES),
        "process": process, "process_id": item.process_id,
        "step_key": item.step_key, "form_name": item.form_name,
        "form_schema": item.form_schema, "data": item.data, "draft": item.draft,
        "excluded": item.excluded, "approval": item.approval,
        # only proven identities may take or decide it (domain.actors.Target.decides)
        "decides": bool(item.excluded) or item.approval is not None
        or asks_decision(item.form_schema),
        "created_by": item.created_by, "created_at": _iso(item.created_at),
        "completed_by": item.completed_by, "completed_at": _iso(item.completed_at),
        "version": item.version,
    }


def handoff_view(h: Any, process: str | None, now: datetime | None = None) -> dict[str, Any]:
    """A handoff (``H-3``) with its criteria, deliverables and data."""
    return {
        "id": h.id, "ref": f"{REF_PREFIX['handoff']}-{h.id}", "kind": "handoff",
        "handoff_kind": h.kind, "state": h.state,
        "title": h.title, "from_department": h.from_department,
        "to_department": h.to_department, "department": h.to_department, "branch": h.branch,
        "criteria": h.criteria, "deliverables": h.deliverables, "due": _iso(h.due_at),
        "due_basis": h.due_basis, "escalation_level": h.escalation_level,
        "overdue": bool(now and h.due_at and h.due_at < now and h.state in RECEIVER_ACTS),
        "process": process, "process_id": h.process_id,
        "reason": h.reason, "return_count": h.return_count, "data": h.data,
        "offered_by": h.offered_by, "signed_by": h.signed_by,
        "created_at": _iso(h.created_at), "accepted_at": _iso(h.accepted_at),
        "delivered_at": _iso(h.delivered_at), "closed_at": _iso(h.closed_at),
        "version": h.version,
    }


def _one(table: Any) -> Any:
    p = light.processinstance
    return (select(table, p.c.business_key.label("process_key"),
                   p.c.owner_email.label("process_owner"))
            .select_from(table.outerjoin(p, p.c.id == table.c.process_id))
            .where(table.c.id == bindparam("item_id")))


_READ = {"work": (_one(light.workitem), work_view),
         "handoff": (_one(light.handoff), handoff_view)}


def show_item(uow: UnitOfWork, reference: str, default_kind: str | None = None, *,
              reader: str | None = None) -> dict[str, Any]:
    """One work item or handoff by reference (``W-12``, ``H-3``; a bare number of
    ``default_kind``), as ``reader`` may see it (None: the operator; ``engine.visibility``).
    Raises BadInput for a malformed reference (or a process's), NotFound when there is no such
    item, NotAuthorized when the reader may not see it."""
    kind, item_id = parse_ref(reference, default_kind)
    if kind not in _READ:
        raise NotFound(f"{reference}: show_item reads work items and handoffs")
    statement, view = _READ[kind]
    with uow:
        actor = visibility.reading_actor(uow, reader)
        row = uow.reader().execute(statement, {"item_id": item_id}).first()
        if row is None:
            raise NotFound(f"{reference} does not exist")
        visibility.check_item(actor, kind, row, process_owner=row.process_owner)
        return view(row, row.process_key, uow.now())
