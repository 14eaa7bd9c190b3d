"""Command handlers for handoffs between departments and responsibility letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mktflow.domain.actors import Door
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.errors import BadInput, TransitionRefused
from mktflow.domain.inputs import TEXT_MAX, check_links, check_text
from mktflow.domain.model import (
    HANDOFF_RULES,
)
from mktflow.domain.words import on_field, phrase, reworded
from mktflow.engine import complaint_cancel, complaint_handoffs, lead_handoffs, processes
from mktflow.engine.calendars import resolve_due
from mktflow.engine.common import get_for_update
from mktflow.engine.decisions import apply_handoff, flow_moves, settle_step
from mktflow.engine.new_items import offer_within, process_id_for
from mktflow.engine.steps import hand_over
from mktflow.engine.transitions import check, record
from mktflow.store.tables import Handoff, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "accept", "act", "cancel", "comment", "confirm", "deliver", "offer", "offer_within",
    "process_id_for",
    "reject", "return_", "update_due",
]

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
        raise BadInput(on_field("title", phrase("must not be empty")))
    if from_department == to_department:
        raise BadInput(on_field("to", phrase(
            "a handoff goes to another department, not back to %(department)s",
            department=to_department)))
    deliverables = [d.strip() for d in deliverables or [] if d.strip()]
    if letter and not deliverables:
        raise BadInput(on_field("deliverable", phrase(
            "a responsibility letter names at least one deliverable")))
    with uow:
        handoff = offer_within(
            uow, actor_email=actor_email, from_department=from_department,
            to_department=to_department, title=title, due_at=due_at, criteria=criteria,
            deliverables=deliverables, letter=letter, process=process, process_id=process_id,
            step_key=step_key, branch=branch)
        uow.commit()
        return handoff


def act(
    uow: UnitOfWork,
    handoff_id: int,
    action: str,
    *,
    actor_email: str,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    _case_asked: bool = False,
) -> Handoff:
    """Apply one handoff transition (accept, reject, deliver, confirm, return, cancel).

    Accepting or rejecting a handoff that a step of its process decides completes that step
    in the same transaction and then resumes the flow run waiting on it
    (``engine.decisions``): the decision is made once, wherever it is made.

    Accepting or delivering a complaint's handoff moves its case as the case's act step does
    (``engine.complaint_handoffs``): accept claims the step, deliver (``{"done": ...}``)
    completes it; rejecting it hands the case back to customer service (its act step
    cancelled, a new respond step; a flow run waiting on the act step is woken and goes on);
    a person's cancel of a case's handoff is refused (the case is cancelled).

    A person's cancel of a handoff the flow of a running process made ends the process with
    it, as a step's cancel does (``work.cancel``), so whoever may end the process does it and
    nobody else (``processes.ender``); a handoff a person attached is withdrawn alone, by the
    offering department, and a flow's own actions (``Door.ENGINE``) never end it.
    """
    if action not in {r.action for r in HANDOFF_RULES} - {"comment", "update"}:
        raise BadInput(on_field("action", phrase("unknown handoff action %(action)s",
                                                 action=repr(action))))
    moves_case = (uow.door is not Door.ENGINE and action in complaint_handoffs.MOVES_CASE
                  and not _case_asked)
    ends_process = action == "cancel" and uow.door is not Door.ENGINE
    with uow:
        instance = (processes.lock_process_of(uow, Handoff, handoff_id) if ends_process
                    else None)
        handoff = get_for_update(uow, Handoff, handoff_id, actor_email=actor_email)
        # A case's handoff carries the case's process: a handoff of no process is asked
        # nothing more (one transaction, no look-up, for most handoffs).
        case_moves = moves_case and handoff.process_id is not None \
            and complaint_handoffs.moves_case(uow, handoff_id)
        why = handed_back = decided = None
        if not case_moves:  # else the case moves in its own transactions, below
            why, handed_back, decided = _apply(uow, handoff, action, actor_email=actor_email,
                                               reason=reason, data=data, instance=instance)
            uow.commit()
    if case_moves:  # a complaint's handoff: its case moves as its act step does
        case_moved = complaint_handoffs.act(uow, handoff_id, action, actor_email=actor_email,
                                            data=data)
        if case_moved is not None:
            return case_moved
        # the act step closed in between: the handoff's own rules, as for any handoff
        return act(uow, handoff_id, action, actor_email=actor_email, reason=reason,
                   data=data, _case_asked=True)
    if instance is not None and why is not None:
        processes.tell_run(uow, instance, why)
    if handed_back is not None:  # the run waiting on the cancelled act step goes on
        processes.wake_run(uow, handed_back)
    if decided is not None:  # the flow run waiting on the deciding step goes on
        hand_over(uow, decided)
    return handoff


def _apply(uow: UnitOfWork, handoff: Handoff, action: str, *, actor_email: str,
           reason: str | None, data: dict[str, Any] | None, instance: ProcessInstance | None
           ) -> tuple[str | None, WorkItem | None, WorkItem | None]:
    """``act``'s change inside its transaction, the handoff locked: (why the process ended
    or None, the cancelled act step of a case handed back or None, the deciding step to
    hand over or None). Raises as ``act`` does."""
    actor, rule = check(uow, handoff, action, actor_email, reason=reason,
                        who=processes.ender(uow, instance, handoff))
    moved = flow_moves(uow, handoff, action) or (
        complaint_cancel.cancel_refusal(uow, handoff)
        if action == "cancel" and uow.door is not Door.ENGINE else None)
    if moved is not None:
        raise TransitionRefused(moved)
    lead_handoffs.follow(uow, handoff, action, actor, data=data)  # a lead's outcome
    handed_back = complaint_handoffs.hand_back(uow, handoff, actor, reason) \
        if action == "reject" else None  # a complaint's case goes back to customer service
    apply_handoff(uow, handoff, action, actor, rule, reason=reason, data=data)
    decided = settle_step(uow, handoff, action, actor, reason) \
        if uow.door is not Door.ENGINE else None
    why = (processes.end_for_cancelled_item(uow, instance, handoff, actor=actor.email,
                                            reason=reason)
           if instance is not None and processes.ends_with(instance, handoff) else None)
    return why, handed_back, decided


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
        handoff.words = reworded(handoff.words, due_basis=basis)
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
        raise BadInput(on_field("text", phrase("a comment must not be empty")))
    check_text(text, field="text", max_length=TEXT_MAX, multiline=True)
    links = check_links(links)
    with uow:
        handoff = get_for_update(uow, Handoff, handoff_id)
        actor, rule = check(uow, handoff, "comment", actor_email)
        record(uow, handoff, rule, actor, data={"text": text.strip(), "links": links})
        uow.commit()
        return handoff

