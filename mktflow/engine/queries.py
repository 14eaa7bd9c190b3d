"""Read-only queries: inboxes, item details, audit trails, the organisation. They change nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from mktflow.domain.actors import head_is_away
from mktflow.domain.errors import NotFound
from mktflow.domain.inputs import format_time, normalise_email
from mktflow.domain.model import OPEN_WORK_STATES, HandoffState
from mktflow.engine import views
from mktflow.engine.common import parse_ref, ref
from mktflow.engine.handoffs import process_id_for
from mktflow.engine.inbox import Page, handoff_page, inbox_page, work_page
from mktflow.store.tables import (
    AuditEntry,
    Branch,
    Department,
    Handoff,
    Member,
    ProcessInstance,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "Page",
    "done_steps_of_run",
    "handoff_page",
    "handoff_view",
    "history",
    "inbox",
    "inbox_page",
    "organisation",
    "process_list",
    "process_view",
    "show",
    "work_page",
    "work_view",
]

_MODELS: dict[str, type[Any]] = {"work": WorkItem, "handoff": Handoff,
                                 "process": ProcessInstance}

#: Handoff states in which the receiving department has to act.
_RECEIVER_ACTS = (HandoffState.OFFERED, HandoffState.ACCEPTED, HandoffState.RETURNED)


def _iso(value: datetime | None) -> str | None:
    return format_time(value)


def _business_key(session: Session, process_id: int | None) -> str | None:
    if process_id is None:
        return None
    process = session.get(ProcessInstance, process_id)
    return process.business_key if process else None


def work_view(session: Session, item: WorkItem, now: datetime | None = None) -> dict[str, Any]:
    """A work item as people and scripts read it."""
    return views.work_view(item, _business_key(session, item.process_id), now)


def handoff_view(session: Session, h: Handoff, now: datetime | None = None) -> dict[str, Any]:
    """A handoff as people and scripts read it."""
    return views.handoff_view(h, _business_key(session, h.process_id), now)


def process_view(session: Session, p: ProcessInstance, *, items: bool = True) -> dict[str, Any]:
    """A process instance, with its work items and handoffs."""
    view: dict[str, Any] = {
        "id": p.id, "ref": ref(p), "process": p.process, "business_key": p.business_key,
        "status": p.status, "owner": p.owner_email, "branch": p.branch,
        "flow_run_id": p.flow_run_id, "params": p.params, "result": p.result,
        "created_at": _iso(p.created_at), "updated_at": _iso(p.updated_at),
    }
    if items:
        view["work_items"] = [work_view(session, w) for w in session.exec(
            select(WorkItem).where(col(WorkItem.process_id) == p.id).order_by(col(WorkItem.id)))]
        view["handoffs"] = [handoff_view(session, h) for h in session.exec(
            select(Handoff).where(col(Handoff.process_id) == p.id).order_by(col(Handoff.id)))]
    return view


def _sort_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    due = entry["due"] or "9999"
    return (not entry["overdue"], due, -entry.get("priority", 50), entry["ref"])


def inbox(uow: UnitOfWork, department: str, *, member: str | None = None) -> list[dict[str, Any]]:
    """Open work and handoffs waiting for a department (or held by one member), overdue first.

    All of them, as full views (form schema and data included): for a list people page
    through, use ``inbox_page`` (sorted and paged in SQL, light rows).
    """
    with uow:
        s = uow.session
        if s.get(Department, department) is None:
            raise NotFound(f"department: unknown department {department!r}")
        now = uow.now()
        work = select(WorkItem).where(col(WorkItem.department) == department,
                                      col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))
        if member:
            work = work.where(col(WorkItem.assignee_email) == normalise_email(member))
        entries = [work_view(s, w, now) for w in s.exec(work)]
        handoffs = select(Handoff).where(or_(
            (col(Handoff.to_department) == department)
            & col(Handoff.state).in_([str(x) for x in _RECEIVER_ACTS]),
            (col(Handoff.from_department) == department)
            & (col(Handoff.state) == HandoffState.DELIVERED),
        ))
        for h in s.exec(handoffs):
            view = handoff_view(s, h, now)
            if h.state == HandoffState.DELIVERED:
                view["overdue"] = False
                view["awaiting"] = "confirmation"
            entries.append(view)
        return sorted(entries, key=_sort_key)


def show(uow: UnitOfWork, reference: str, default_kind: str | None = None) -> dict[str, Any]:
    """One work item, handoff or process, by reference (``W-12``, ``H-3``, ``P-4``)."""
    kind, item_id = parse_ref(reference, default_kind)
    if kind != "process":
        return views.show_item(uow, reference, default_kind)
    with uow:
        row = uow.session.get(ProcessInstance, item_id)
        if row is None:
            raise NotFound(f"{reference} does not exist")
        return process_view(uow.session, row)


def process_list(uow: UnitOfWork, *, status: str | None = None,
                 process: str | None = None) -> list[dict[str, Any]]:
    """Process instances, newest first."""
    with uow:
        query = select(ProcessInstance).order_by(col(ProcessInstance.id).desc())
        if status:
            query = query.where(col(ProcessInstance.status) == status)
        if process:
            query = query.where(col(ProcessInstance.process) == process)
        return [process_view(uow.session, p, items=False) for p in uow.session.exec(query)]


def done_steps_of_run(uow: UnitOfWork, flow_run_id: str) -> list[WorkItem]:
    """The work items done in the process that flow run ``flow_run_id`` runs."""
    with uow:
        return list(uow.session.exec(
            select(WorkItem).join(ProcessInstance,
                                  col(WorkItem.process_id) == col(ProcessInstance.id))
            .where(col(ProcessInstance.flow_run_id) == flow_run_id,
                   col(WorkItem.state) == "done")))


def history(uow: UnitOfWork, reference: str) -> list[dict[str, Any]]:
    """The audit trail of a work item, a handoff, or a whole process (``P-4`` or its key),
    oldest first; each entry says how the door knew its actor (``identified_by``: "member
    token", "typed in the Prefect UI form (not proven)", ...; None for the engine's own and
    for entries written before doors said it)."""
    with uow:
        s = uow.session
        try:
            kind, item_id = parse_ref(reference)
        except Exception:
            pid = process_id_for(uow, reference)
            assert pid is not None
            kind, item_id = "process", pid
        if s.get(_MODELS[kind], item_id) is None:
            raise NotFound(f"{reference} does not exist")
        query = select(AuditEntry)
        if kind == "process":
            query = query.where(col(AuditEntry.process_id) == item_id)
        else:
            query = query.where(col(AuditEntry.entity_type) == kind,
                                col(AuditEntry.entity_id) == item_id)
        prefix = {"work": "W", "handoff": "H", "process": "P"}
        return [{
            "id": e.id, "at": _iso(e.at), "actor": e.actor, "identified_by": e.identified_by,
            "item": f"{prefix.get(e.entity_type, '?')}-{e.entity_id}", "action": e.action,
            "from_state": e.from_state, "to_state": e.to_state, "reason": e.reason,
            "data": e.data, "changes": e.changes,
        } for e in s.exec(query.order_by(col(AuditEntry.id)))]


def organisation(uow: UnitOfWork) -> dict[str, Any]:
    """Branches, departments (with who leads them today) and active members."""
    with uow:
        s = uow.session
        today = uow.now().date()
        departments = []
        for d in s.exec(select(Department).order_by(col(Department.code))):
            head = s.exec(select(Member).where(col(Member.department) == d.code,
                                               col(Member.role) == "head",
                                               col(Member.active))).first()
            away = head_is_away(d.head_away_from, d.head_away_until, today)
            departments.append({
                "code": d.code, "name": d.name, "head": head.email if head else None,
                "delegate": d.delegate_email, "head_away": away,
                "head_away_from": str(d.head_away_from) if d.head_away_from else None,
                "head_away_until": str(d.head_away_until) if d.head_away_until else None,
            })
        return {
            "branches": [{"code": b.code, "name": b.name, "hq": b.is_hq}
                         for b in s.exec(select(Branch).order_by(col(Branch.code)))],
            "departments": departments,
            "members": [{"email": m.email, "name": m.name, "department": m.department,
                         "role": m.role, "branch": m.branch}
                        for m in s.exec(select(Member).where(col(Member.active))
                                        .order_by(col(Member.department), col(Member.email)))],
        }
