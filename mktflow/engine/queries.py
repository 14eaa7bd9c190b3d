"""Read-only queries: inboxes, item details, audit trails, the organisation. They change nothing."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from mktflow.domain.actors import Actor, Target, head_is_away
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import format_time, normalise_email
from mktflow.domain.model import OPEN_WORK_STATES, REF_PREFIX, HandoffState, ref_of
from mktflow.domain.words import on_field, phrase
from mktflow.engine import views, visibility
from mktflow.engine.common import parse_ref, ref
from mktflow.engine.handoffs import process_id_for
from mktflow.engine.inbox import handoff_page, inbox_page, work_page
from mktflow.engine.views import (
    BranchPublic,
    DepartmentPublic,
    HandoffPublic,
    HistoryEntry,
    InboxPage,
    MemberPublic,
    OrganisationPublic,
    ProcessPublic,
    ProcessSummary,
    WorkItemPublic,
)
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
    "InboxPage",
    "done_steps_of_run",
    "handoff_page",
    "handoff_view",
    "history",
    "inbox",
    "inbox_page",
    "organisation",
    "process_list",
    "process_summary",
    "process_view",
    "show",
    "show_process",
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


def work_view(session: Session, item: WorkItem, now: datetime | None = None
              ) -> WorkItemPublic:
    """A work item as people and scripts read it."""
    return views.work_view(item, _business_key(session, item.process_id), now)


def handoff_view(session: Session, h: Handoff, now: datetime | None = None
                 ) -> HandoffPublic:
    """A handoff as people and scripts read it."""
    return views.handoff_view(h, _business_key(session, h.process_id), now)


def _process_fields(p: ProcessInstance, parameters: bool) -> dict[str, Any]:
    """What a process's summary and its whole view share, as constructor arguments."""
    assert p.id is not None
    return dict(
        id=p.id, ref=ref(p), process=p.process, business_key=p.business_key,
        status=p.status, owner=p.owner_email, branch=p.branch,
        flow_run_id=p.flow_run_id, flow_version=p.flow_version,
        params=p.params if parameters else None,
        result=p.result if parameters else None,
        created_at=_iso(p.created_at), updated_at=_iso(p.updated_at),
        withheld=None if parameters else ["params", "result"])


def process_summary(p: ProcessInstance, *, parameters: bool = True) -> ProcessSummary:
    """A process instance without its items. Without ``parameters`` its parameters and result
    are withheld (None, and ``withheld`` names them): the reader may see the process, not its
    data."""
    return ProcessSummary(**_process_fields(p, parameters))


def process_view(session: Session, p: ProcessInstance, *, reader: Actor | None = None,
                 parameters: bool = True) -> ProcessPublic:
    """A process instance with its work items and handoffs: those ``reader`` may see (None:
    all); ``parameters`` as for ``process_summary``."""
    owner = p.owner_email
    return ProcessPublic(
        **_process_fields(p, parameters),
        work_items=[work_view(session, w) for w in session.exec(
            select(WorkItem).where(col(WorkItem.process_id) == p.id).order_by(col(WorkItem.id)))
            if visibility.may_see_item(reader, "work", w, process_owner=owner)],
        handoffs=[handoff_view(session, h) for h in session.exec(
            select(Handoff).where(col(Handoff.process_id) == p.id).order_by(col(Handoff.id)))
            if visibility.may_see_item(reader, "handoff", h, process_owner=owner)])


def _sort_key(entry: WorkItemPublic | HandoffPublic) -> tuple[Any, ...]:
    due = entry.due or "9999"
    priority = entry.priority if isinstance(entry, WorkItemPublic) else 50
    return (not entry.overdue, due, -priority, entry.ref)


def inbox(uow: UnitOfWork, department: str, *, member: str | None = None
          ) -> list[WorkItemPublic | HandoffPublic]:
    """Open work and handoffs waiting for a department (or held by one member), overdue first.

    All of them, as full views (form schema and data included): for a list people page
    through, use ``inbox_page`` (sorted and paged in SQL, light rows).
    """
    with uow:
        s = uow.session
        if s.get(Department, department) is None:
            raise NotFound(on_field("department", phrase("unknown department %(code)s",
                                                         code=repr(department))))
        now = uow.now()
        work = select(WorkItem).where(col(WorkItem.department) == department,
                                      col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))
        if member:
            work = work.where(col(WorkItem.assignee_email) == normalise_email(member))
        entries: list[WorkItemPublic | HandoffPublic] = [work_view(s, w, now)
                                                         for w in s.exec(work)]
        handoffs = select(Handoff).where(or_(
            (col(Handoff.to_department) == department)
            & col(Handoff.state).in_([str(x) for x in _RECEIVER_ACTS]),
            (col(Handoff.from_department) == department)
            & (col(Handoff.state) == HandoffState.DELIVERED),
        ))
        for h in s.exec(handoffs):
            view = handoff_view(s, h, now)
            if h.state == HandoffState.DELIVERED:  # waits for this department, never late
                view = dataclasses.replace(view, overdue=False, awaiting="confirmation")
            entries.append(view)
        return sorted(entries, key=_sort_key)


def show(uow: UnitOfWork, reference: str, default_kind: str | None = None, *,
         reader: str | None = None) -> WorkItemPublic | HandoffPublic | ProcessPublic:
    """One work item, handoff or process, by reference (``W-12``, ``H-3``, ``P-4``), as
    ``reader`` may see it (None: the operator; ``engine.visibility``). NotFound when there is
    none; NotAuthorized when the reader may not see it."""
    kind, item_id = parse_ref(reference, default_kind)
    if kind != "process":
        return views.show_item(uow, reference, default_kind, reader=reader)
    return show_process(uow, item_id, reader=reader)


def show_process(uow: UnitOfWork, process_id: int, *, reader: str | None = None
                 ) -> ProcessPublic:
    """Process ``process_id`` (``P-4``: 4) with its work items and handoffs, as ``reader`` may
    see it (None: the operator; ``engine.visibility``). NotFound when there is none;
    NotAuthorized when the reader may not see it."""
    reference = ref_of("process", process_id)
    with uow:
        actor = visibility.reading_actor(uow, reader)
        row = uow.session.get(ProcessInstance, process_id)
        if row is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=reference))
        target = visibility.process_target(uow.session, row)
        visibility.check_process(actor, target)
        return process_view(uow.session, row, reader=actor,
                            parameters=visibility.may_see_parameters(actor, target))


def process_list(uow: UnitOfWork, *, status: str | None = None,
                 process: str | None = None, reader: str | None = None
                 ) -> list[ProcessSummary]:
    """Process instances ``reader`` may see (None: all), newest first; parameters and result
    only of those whose parameters they may see."""
    with uow:
        actor = visibility.reading_actor(uow, reader)
        query = (select(ProcessInstance).where(visibility.visible_processes(actor,
                                                                      ProcessInstance))
                 .order_by(col(ProcessInstance.id).desc()))
        if status:
            query = query.where(col(ProcessInstance.status) == status)
        if process:
            query = query.where(col(ProcessInstance.process) == process)
        rows = list(uow.session.exec(query))
        owners = _departments_of(uow.session, {p.owner_email for p in rows})
        return [process_summary(p, parameters=actor is None
                                or visibility.may_see_parameters(actor, Target(
                                    ref=ref(p), department="", branch=p.branch,
                                    owner_department=owners.get(p.owner_email))))
                for p in rows]


def _departments_of(session: Session, emails: set[str]) -> dict[str, str]:
    """Each member's department, by e-mail (one query)."""
    if not emails:
        return {}
    return {m.email: m.department for m in session.exec(
        select(Member).where(col(Member.email).in_(sorted(emails))))}


def done_steps_of_run(uow: UnitOfWork, flow_run_id: str, *, state: str = "done"
                      ) -> list[WorkItem]:
    """The work items done (or in ``state``) in the process that flow run ``flow_run_id``
    runs."""
    with uow:
        return list(uow.session.exec(
            select(WorkItem).join(ProcessInstance,
                                  col(WorkItem.process_id) == col(ProcessInstance.id))
            .where(col(ProcessInstance.flow_run_id) == flow_run_id,
                   col(WorkItem.state) == state)))


def history(uow: UnitOfWork, reference: str, *, reader: str | None = None
            ) -> list[HistoryEntry]:
    """The audit trail of a work item, a handoff, or a whole process (``P-4`` or its key),
    oldest first, as ``reader`` may see it (None: the operator): an item's by the item's row
    of the read table; a process's by the process's row, with the entries of only the items
    the reader may see. Each entry says how the door knew its actor (``identified_by``:
    "member token", "typed in the Prefect UI form (not proven)", ...; None for the engine's own
    and for entries written before doors said it)."""
    with uow:
        s = uow.session
        actor = visibility.reading_actor(uow, reader)
        if not reference.strip():
            raise BadInput(on_field("reference", phrase(
                "give an item (W-12, H-3, P-4) or a process's business key")))
        try:
            kind, item_id = parse_ref(reference)
        except NotFound:  # W-n/H-n/P-n beyond any id
            raise
        except BadInput:  # not W-n/H-n/P-n: a business key
            pid = process_id_for(uow, reference)
            assert pid is not None
            kind, item_id = "process", pid
        found = s.get(_MODELS[kind], item_id)
        if found is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=reference))
        hidden: set[tuple[str, int]] = set()
        if kind == "process":
            visibility.check_process(actor, visibility.process_target(s, found))
            if actor is not None:
                hidden = _hidden_items(s, found, actor)
        else:
            owner = s.get(ProcessInstance, found.process_id) if found.process_id else None
            visibility.check_item(actor, kind, found,
                                  process_owner=owner.owner_email if owner else None)
        query = select(AuditEntry)
        if kind == "process":
            query = query.where(col(AuditEntry.process_id) == item_id)
        else:
            query = query.where(col(AuditEntry.entity_type) == kind,
                                col(AuditEntry.entity_id) == item_id)
        return [HistoryEntry(
            id=e.id, at=_iso(e.at), actor=e.actor, identified_by=e.identified_by,
            item=_entity_ref(e.entity_type, e.entity_id), action=e.action,
            from_state=e.from_state, to_state=e.to_state, reason=e.reason,
            data=e.data, changes=e.changes, words=e.words,
        ) for e in s.exec(query.order_by(col(AuditEntry.id)))
            if e.id is not None and (e.entity_type, e.entity_id) not in hidden]


def _entity_ref(entity_type: str, entity_id: int) -> str:
    """How a history entry names what it is about: ``W-12``, ``H-3``, ``P-4``; a member's or
    the organisation's entry by its kind (``member 7``)."""
    if entity_type in REF_PREFIX:
        return ref_of(entity_type, entity_id)
    return f"{entity_type} {entity_id}"


def _hidden_items(s: Session, process: ProcessInstance, actor: Actor) -> set[tuple[str, int]]:
    """The (kind, id) of the work items and handoffs of ``process`` that ``actor`` may not see."""
    owner = process.owner_email
    hidden = {("work", w.id) for w in s.exec(select(WorkItem).where(
        col(WorkItem.process_id) == process.id))
        if not visibility.may_see_item(actor, "work", w, process_owner=owner)}
    hidden |= {("handoff", h.id) for h in s.exec(select(Handoff).where(
        col(Handoff.process_id) == process.id))
        if not visibility.may_see_item(actor, "handoff", h, process_owner=owner)}
    return {(kind, item_id) for kind, item_id in hidden if item_id is not None}


def organisation(uow: UnitOfWork) -> OrganisationPublic:
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
            departments.append(DepartmentPublic(
                code=d.code, name=d.name, head=head.email if head else None,
                delegate=d.delegate_email, head_away=away,
                head_away_from=str(d.head_away_from) if d.head_away_from else None,
                head_away_until=str(d.head_away_until) if d.head_away_until else None,
            ))
        return OrganisationPublic(
            branches=[BranchPublic(code=b.code, name=b.name, hq=b.is_hq, calendar=b.calendar)
                      for b in s.exec(select(Branch).order_by(col(Branch.code)))],
            departments=departments,
            members=[MemberPublic(email=m.email, name=m.name, department=m.department,
                                  role=m.role, branch=m.branch)
                     for m in s.exec(select(Member).where(col(Member.active))
                                     .order_by(col(Member.department), col(Member.email)))],
        )
