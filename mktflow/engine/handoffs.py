"""Command handlers for handoffs between departments and responsibility letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import Door, Target
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.errors import BadInput, NotFound, TransitionRefused
from mktflow.domain.inputs import TEXT_MAX, check_id, check_links, check_text
from mktflow.domain.model import (
    HANDOFF_RULES,
    HandoffKind,
    HandoffState,
)
from mktflow.domain.words import words_of
from mktflow.engine import lead_handoffs, processes
from mktflow.engine.calendars import resolve_due
from mktflow.engine.common import actor_for, departments_exist, get_for_update
from mktflow.engine.decisions import apply_handoff, flow_moves, settle_step
from mktflow.engine.notices import notice
from mktflow.engine.steps import hand_over
from mktflow.engine.transitions import check, check_new, record
from mktflow.store.tables import Handoff, ProcessInstance
from mktflow.store.uow import UnitOfWork

__all__ = [
    "accept", "act", "cancel", "comment", "confirm", "deliver", "offer", "offer_within",
    "process_id_for",
    "reject", "return_", "update_due",
]

def process_id_for(uow: UnitOfWork, business_key: str | None) -> int | None:
    """The process instance a business key (or ``P-n``) names."""
    if not business_key:
        return None
    process = uow.session.exec(
        select(ProcessInstance).where(col(ProcessInstance.business_key) == business_key)
    ).first()
    if process is None and business_key.upper().startswith("P-") and business_key[2:].isdigit():
        number = int(business_key[2:])
        process = uow.session.get(ProcessInstance, check_id(number, f"process: P-{number}"))
    if process is None:
        raise NotFound(f"process: no process with business key {business_key!r}")
    return process.id


def offer(
    uow: UnitOfWork,
    *,
    actor_email: str,
    from_department: str,
    to_department: str,
    title: str,
    due_at: datetime | WorkingDue | None,
    criteria: str = "",
    deliverables: list[str] | None = None,
    letter: bool = False,
    process: str | None = None,
    process_id: int | None = None,
    step_key: str | None = None,
    branch: str | None = None,
) -> Handoff:
    """Offer work to another department; a responsibility letter binds several deliverables.

    A due time in working time is counted in ``branch``'s calendar, else the offering
    member's (``mktflow.engine.calendars``), and how is kept with it."""
    if not title.strip():
        raise BadInput("title: must not be empty")
    if from_department == to_department:
        raise BadInput(f"to: a handoff goes to another department, not back to {to_department}")
    deliverables = [d.strip() for d in deliverables or [] if d.strip()]
    if letter and not deliverables:
        raise BadInput("deliverable: a responsibility letter names at least one deliverable")
    with uow:
        handoff = offer_within(
            uow, actor_email=actor_email, from_department=from_department,
            to_department=to_department, title=title, due_at=due_at, criteria=criteria,
            deliverables=deliverables, letter=letter, process=process, process_id=process_id,
            step_key=step_key, branch=branch)
        uow.commit()
        return handoff


def offer_within(
    uow: UnitOfWork,
    *,
    actor_email: str,
    from_department: str,
    to_department: str,
    title: str,
    due_at: datetime | WorkingDue | None,
    criteria: str = "",
    deliverables: list[str] | None = None,
    letter: bool = False,
    process: str | None = None,
    process_id: int | None = None,
    step_key: str | None = None,
    branch: str | None = None,
) -> Handoff:
    """``offer``'s checks and writes inside the caller's open unit of work, which commits:
    a command that hands work over as part of its own change (a qualified lead) offers it in
    the same transaction. ``title`` and ``deliverables`` as ``offer`` has checked them."""
    deliverables = list(deliverables or [])
    pid = process_id if process_id is not None else process_id_for(uow, process)
    if pid is not None and step_key is not None:
        existing = uow.session.exec(select(Handoff).where(
            col(Handoff.process_id) == pid, col(Handoff.step_key) == step_key
        )).first()
        if existing is not None:
            return existing
    known = departments_exist(uow, from_department, to_department)
    for field, code in (("from", from_department), ("to", to_department)):
        if code not in known:
            raise NotFound(f"{field}: unknown department {code!r}")
    actor = actor_for(uow, actor_email)
    if pid is not None:  # who may add a handoff to it (issue 19)
        processes.check_attach(uow, actor, pid)
    due, due_basis = resolve_due(uow, due_at, branch=branch, members=(actor.email,))
    handoff = Handoff(
        kind=HandoffKind.RESPONSIBILITY_LETTER if letter else HandoffKind.HANDOFF,
        process_id=pid, step_key=step_key, from_department=from_department,
        to_department=to_department, branch=branch, title=title.strip(), criteria=str(criteria),
        words=words_of(title=title, criteria=criteria),
        deliverables=deliverables, state=HandoffState.OFFERED, due_at=due,
        due_basis=due_basis, offered_by=actor.email, created_at=uow.now(),
        updated_at=uow.now(),
    )
    rule = check_new(actor, "offer", Target(ref=f"a handoff from {from_department}",
                                            department=to_department, branch=branch,
                                            offering=from_department))
    uow.session.add(handoff)
    uow.session.flush()
    assert handoff.id is not None
    uow.audit(actor=actor.email, entity_type="handoff", entity_id=handoff.id,
              process_id=pid, action="offer", to_state=handoff.state,
              data={"title": handoff.title, "from": from_department, "to": to_department,
                    "kind": handoff.kind, "deliverables": deliverables})
    notice(uow, handoff, event="handoff.offered", audiences=rule.tells, actor=actor.email)
    return handoff


def act(
    uow: UnitOfWork,
    handoff_id: int,
    action: str,
    *,
    actor_email: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> Handoff:
    """Apply one handoff transition (accept, reject, deliver, confirm, return, cancel).

    Accepting or rejecting a handoff that a step of its process decides completes that step
    in the same transaction and then resumes the flow run waiting on it
    (``engine.decisions``): the decision is made once, wherever it is made.

    A person's cancel of a handoff the flow of a running process made ends the process with
    it, as a step's cancel does (``work.cancel``), so whoever may end the process does it and
    nobody else (``processes.ender``); a handoff a person attached is withdrawn alone, by the
    offering department, and a flow's own actions (``Door.ENGINE``) never end it.
    """
    if action not in {r.action for r in HANDOFF_RULES} - {"comment", "update"}:
        raise BadInput(f"action: unknown handoff action {action!r}")
    ends_process = action == "cancel" and uow.door is not Door.ENGINE
    with uow:
        instance = (processes.lock_process_of(uow, Handoff, handoff_id) if ends_process
                    else None)
        handoff = get_for_update(uow, Handoff, handoff_id)
        actor, rule = check(uow, handoff, action, actor_email, reason=reason,
                            who=processes.ender(uow, instance, handoff))
        moved = flow_moves(uow, handoff, action)
        if moved is not None:
            raise TransitionRefused(moved)
        lead_handoffs.follow(uow, handoff, action, actor, data=data)  # a lead's outcome
        apply_handoff(uow, handoff, action, actor, rule, reason=reason, data=data)
        decided = settle_step(uow, handoff, action, actor, reason) \
            if uow.door is not Door.ENGINE else None
        why = (processes.end_for_cancelled_item(uow, instance, handoff, actor=actor.email,
                                                reason=reason)
               if instance is not None and processes.ends_with(instance, handoff) else None)
        uow.commit()
    if instance is not None and why is not None:
        processes.tell_run(uow, instance, why)
    if decided is not None:  # the flow run waiting on the deciding step goes on
        hand_over(uow, decided)
    return handoff


def accept(uow: UnitOfWork, handoff_id: int, *, actor_email: str) -> Handoff:
    """The receiving department takes the work on (signs, for a responsibility letter)."""
    return act(uow, handoff_id, "accept", actor_email=actor_email)


def reject(uow: UnitOfWork, handoff_id: int, *, actor_email: str, reason: str | None) -> Handoff:
    """The receiving department declines, with a reason."""
    return act(uow, handoff_id, "reject", actor_email=actor_email, reason=reason)


def deliver(
    uow: UnitOfWork, handoff_id: int, *, actor_email: str, data: dict[str, Any] | None = None
) -> Handoff:
    """The receiving department hands over the deliverable."""
    return act(uow, handoff_id, "deliver", actor_email=actor_email, data=data)


def confirm(uow: UnitOfWork, handoff_id: int, *, actor_email: str) -> Handoff:
    """The offering department accepts the deliverable."""
    return act(uow, handoff_id, "confirm", actor_email=actor_email)


def return_(uow: UnitOfWork, handoff_id: int, *, actor_email: str, reason: str | None) -> Handoff:
    """The offering department sends the deliverable back, with a reason."""
    return act(uow, handoff_id, "return", actor_email=actor_email, reason=reason)


def cancel(uow: UnitOfWork, handoff_id: int, *, actor_email: str, reason: str | None) -> Handoff:
    """The offering department withdraws the work, with a reason."""
    return act(uow, handoff_id, "cancel", actor_email=actor_email, reason=reason)


def update_due(
    uow: UnitOfWork, handoff_id: int, *, actor_email: str, due_at: datetime | WorkingDue,
    reason: str | None = None,
) -> Handoff:
    """The offering department moves the due date; escalation starts afresh. A due time in
    working time is counted from now (as ``offer``)."""
    with uow:
        handoff = get_for_update(uow, Handoff, handoff_id)
        actor, rule = check(uow, handoff, "update", actor_email)
        due, basis = resolve_due(uow, due_at, branch=handoff.branch, members=(actor.email,))
        record(uow, handoff, rule, actor, reason=reason,
               fields={"due_at": due, "due_basis": basis, "escalation_level": 0})
        uow.commit()
        return handoff


def comment(
    uow: UnitOfWork, handoff_id: int, *, actor_email: str, text: str,
    links: list[str] | None = None,
) -> Handoff:
    """Add a note (and links) to a handoff's history.

    Each link must be an http, https or mailto link (``inputs.check_links``): BadInput naming
    ``links`` and the link otherwise, and nothing is recorded.
    """
    if not text.strip():
        raise BadInput("text: a comment must not be empty")
    check_text(text, field="text", max_length=TEXT_MAX, multiline=True)
    links = check_links(links)
    with uow:
        handoff = get_for_update(uow, Handoff, handoff_id)
        actor, rule = check(uow, handoff, "comment", actor_email)
        record(uow, handoff, rule, actor, data={"text": text.strip(), "links": links})
        uow.commit()
        return handoff

