"""Command handlers for work items (human steps): the only code that changes them.

Each handler opens the unit of work, loads and locks the item, checks the rule (state, who,
guards), applies the change, writes the audit entry and the outbox notices, and commits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as core_select
from sqlmodel import col, select

from mktflow.domain import notes
from mktflow.domain.actors import Approval, Door
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.complaints import FORM_NAMES as COMPLAINT_FORMS
from mktflow.domain.complaints import StepKind as ComplaintStep
from mktflow.domain.errors import BadInput, FormInvalid, NotFound, TransitionRefused
from mktflow.domain.inputs import (
    TEXT_MAX,
    check_links,
    check_text,
    format_time,
    normalise_email,
)
from mktflow.domain.model import OPEN_WORK_STATES, Audience, WorkState
from mktflow.domain.words import Phrase, on_field, phrase, reworded
from mktflow.domain.work_reports import REPORT_FORM_NAME
from mktflow.engine import decisions, processes
from mktflow.engine.answers import check_answer
from mktflow.engine.calendars import due_for
from mktflow.engine.common import (
    actor_for,
    find_member,
    get_for_update,
    read_locked,
    ref,
    ref_of,
    with_actor,
)
from mktflow.engine.forms import validate_form
from mktflow.engine.new_items import create_within, eligible
from mktflow.engine.transitions import check, record
from mktflow.store.db import json_dumps
from mktflow.store.tables import Complaint, Handoff, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "assign",
    "cancel",
    "check_draft",
    "check_step_answer",
    "claim",
    "comment",
    "complete",
    "create_work_item",
    "delegate",
    "merge_draft",
    "reassign_all",
    "release",
    "resolve",
    "save_draft",
    "update",
]


def create_work_item(
    uow: UnitOfWork,
    *,
    actor_email: str,
    department: str,
    title: str,
    form_schema: dict[str, Any] | None = None,
    form_name: str | None = None,
    description: str = "",
    assignee: str | None = None,
    priority: int = 50,
    due_at: datetime | WorkingDue | None = None,
    follow_up_at: datetime | None = None,
    process_id: int | None = None,
    step_key: str | None = None,
    branch: str | None = None,
    excluded: list[str] | None = None,
    draft: dict[str, Any] | None = None,
    approval: Approval | None = None,
    important: bool | None = None,
    urgent: bool | None = None,
) -> WorkItem:
    """Put a human step in a department's queue (or a member's hands) and tell them.

    ``important`` and ``urgent`` place it in the department's balance of work (seed 000;
    ``mktflow.domain.planning.Quadrant``); None: not said, the item is unclassified.

    With ``process_id`` and ``step_key`` it is idempotent: a flow re-run after resume gets the
    step it created before instead of a second one. ``excluded`` are the members who may not
    take or decide it (four eyes); ``approval`` the authority-matrix rule of an approval step,
    re-checked against the organisation whenever it is taken or decided. A due time in working
    time (``WorkingDue``) is counted in the calendar of ``branch``, else of the assignee's
    branch, else of the creator's (``mktflow.engine.calendars``), and how is kept with it.
    """
    with uow:
        if process_id is not None and step_key is not None:
            existing = uow.session.exec(select(WorkItem).where(
                col(WorkItem.process_id) == process_id, col(WorkItem.step_key) == step_key
            )).first()
            if existing is not None:
                return existing
        item = create_within(
            uow, actor_email=actor_email, department=department, title=title,
            form_schema=form_schema, form_name=form_name, description=description,
            assignee=assignee, priority=priority, due_at=due_at, follow_up_at=follow_up_at,
            process_id=process_id, step_key=step_key, branch=branch, excluded=excluded,
            draft=draft, approval=approval, important=important, urgent=urgent)
        uow.commit()
        return item


def claim(uow: UnitOfWork, item_id: int, *, actor_email: str) -> WorkItem:
    """Take an open step from the department's queue; of two at once, exactly one wins.

    A claim repeated by the member who holds the step (a retry whose first answer was lost)
    changes nothing and says so (``mktflow.domain.notes``)."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id, actor_email=actor_email)
        if item.state == WorkState.CLAIMED and item.assignee_email == \
                actor_for(uow, actor_email).email:
            notes.tell(f"{ref(item)} is already claimed by you; nothing changed")
            return item
        actor, rule = check(uow, item, "claim", actor_email)  # with four eyes and approvers
        record(uow, item, rule, actor, fields={"assignee_email": actor.email})
        uow.commit()
        return item


def release(uow: UnitOfWork, item_id: int, *, actor_email: str) -> WorkItem:
    """Give a held step back to the department's queue."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "release", actor_email)
        record(uow, item, rule, actor, fields={"assignee_email": None})
        uow.commit()
        return item


def assign(uow: UnitOfWork, item_id: int, *, to: str, actor_email: str) -> WorkItem:
    """The head (or delegate) gives a step to a member of the department."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "assign", actor_email)
        member = eligible(uow, item, to, "assign")
        record(uow, item, rule, actor, fields={"assignee_email": member.email})
        uow.commit()
        return item


def delegate(uow: UnitOfWork, item_id: int, *, to: str, actor_email: str) -> WorkItem:
    """The holder asks a colleague to do the step; the colleague resolves it back."""
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "delegate", actor_email)
        member = eligible(uow, item, to, "delegate")
        if member.email == actor.email:
            raise BadInput(on_field("to", phrase("cannot delegate a step to yourself")))
        record(uow, item, rule, actor,
               fields={"owner_email": actor.email, "assignee_email": member.email})
        uow.commit()
        return item


def resolve(
    uow: UnitOfWork, item_id: int, *, actor_email: str, data: dict[str, Any] | None = None
) -> WorkItem:
    """The colleague hands a delegated step back to its holder, with a proposal if any.

    Nothing is handed to someone who has left: when the holder is no longer an active member,
    the step goes back to the department's queue (open, unheld) and the department is told.
    """
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "resolve", actor_email)
        holder = find_member(uow.session, item.owner_email) if item.owner_email else None
        fields: dict[str, Any] = {"assignee_email": item.owner_email, "owner_email": None}
        to_state, tells = None, (Audience.ASSIGNEE,)
        if holder is None or not holder.active:
            fields["assignee_email"] = None
            to_state, tells = WorkState.OPEN, (Audience.DEPARTMENT,)
        if data is not None:
            fields["data"] = validate_form(item.form_schema, data, ref=ref(item))
        record(uow, item, rule, actor, data=data,
               fields=fields, tells=tells, to_state=to_state)
        uow.commit()
        return item


def complete(
    uow: UnitOfWork, item_id: int, *, actor_email: str, data: dict[str, Any] | None = None,
    over_draft: bool = False,
) -> WorkItem:
    """Submit a held step's data; refused if it fails the form, breaks the process's rules
    for that form (``mktflow.engine.answers``) or breaks four eyes.

    With ``over_draft`` the data is laid over the step's draft first (see ``merge_draft``).
    Raises FormInvalid (a BadInput: HTTP 422, exit 2) naming each field path, e.g.
    ``activities.0.owner: nobody@example.com is not an active member``; nothing is written.

    A step that decides a handoff (``engine.decisions``) accepts or rejects it in the same
    transaction, as its ``decision`` says.

    A daily report step (form ``DailyReport``) records the report
    (``engine.work_reports.record_step``) and keeps only its name. A complaint's step moves
    its case and puts the next step in a queue (``engine.complaint_steps.follow_step``).

    A step already done is not completed again: the member who completed it, sending the same
    answer again (a retry whose first answer was lost), is told so and nothing changes;
    anyone else, or another answer, is refused (TransitionRefused) naming who completed it
    and when.
    """
    with uow:
        item = _locked_unless_deciding(uow, item_id, actor_email)  # the common case:
        # one round trip for the locked row and who acts
        if item is None:  # it moves a handoff (or does not exist)
            seen = uow.session.get(WorkItem, item_id)
            first = _handoff_it_moves(uow, seen) if seen is not None else None
            if first is not None:  # the handoff's row first, as its own actions lock them
                get_for_update(uow, Handoff, first)
            item = get_for_update(uow, WorkItem, item_id)
        if item.state == WorkState.DONE:
            _completed_already(uow, item, actor_email, merge_draft(item.draft, data)
                               if over_draft else data)
            return item
        actor, rule = check(uow, item, "complete", actor_email)  # four eyes, approver today
        if over_draft:
            data = merge_draft(item.draft, data)
        clean = check_step_answer(uow, item, data)
        if item.form_name == REPORT_FORM_NAME:  # the texts go to the report, not the step
            from mktflow.engine.report_records import record_step

            clean = record_step(uow, item, actor, clean)
        record(uow, item, rule, actor, data=clean, fields={
            "data": clean, "completed_by": actor.email, "completed_at": uow.now(),
        })
        decisions.settle_handoff(uow, item, actor, clean)  # the handoff it decides, if any
        if item.form_name in COMPLAINT_FORMS.values():  # a complaint's step moves its case
            from mktflow.engine.complaint_steps import follow_step

            follow_step(uow, item, actor, clean or {})
        uow.commit()
        return item


def _handoff_it_moves(uow: UnitOfWork, item: WorkItem) -> int | None:
    """The handoff whose row completing ``item`` locks before the step's (a plain read), or
    None: the handoff the step decides (``decisions``), or the case's handoff a complaint's
    act step delivers (``complaint_steps``). Every door takes the two in that order (a
    handoff's own actions lock the handoff, then its steps: ``handoffs.act``), so a step's
    answer and its handoff's rejection at once wait for each other, never deadlock."""
    decides = decisions.linked_handoff_id(uow, item.process_id, item.step_key)
    if decides is not None or item.form_name != COMPLAINT_FORMS[ComplaintStep.ACT]:
        return decides
    return uow.session.exec(select(Complaint.handoff_id).where(
        col(Complaint.process_id) == item.process_id)).first()


def _locked_unless_deciding(uow: UnitOfWork, item_id: int, actor_email: str
                            ) -> WorkItem | None:
    """Work item ``item_id``, locked, when it moves no handoff (no handoff of its process has
    its step key, and it is no complaint's act step); None otherwise, or when there is no such
    item. The lock order of such a step stays the handoff's row first (``complete``,
    ``_handoff_it_moves``); any other step is read and locked in one query instead of a plain
    read and a locking one, which also reads who acts (``common.with_actor``; issue 22,
    target 4)."""
    statement = _LOCK_UNLESS_DECIDING.get("work")
    if statement is None:  # built once, so its compiled form is reused as it is
        h = Handoff.__table__  # type: ignore[attr-defined]
        w = WorkItem.__table__  # type: ignore[attr-defined]
        deciding = core_select(h.c.id).where(h.c.process_id == w.c.process_id,
                                             h.c.step_key == w.c.step_key)
        statement = _LOCK_UNLESS_DECIDING["work"] = (
            with_actor(select(WorkItem).where(col(WorkItem.id) == bindparam("item_id"),
                                              ~deciding.exists(),
                                              col(WorkItem.form_name).is_distinct_from(
                                                  COMPLAINT_FORMS[ComplaintStep.ACT])),
                       WorkItem)
            .with_for_update(of=WorkItem).execution_options(populate_existing=True))
    found: WorkItem | None = read_locked(uow, statement, {"item_id": item_id},
                                         actor_email=actor_email)
    return found


_LOCK_UNLESS_DECIDING: dict[str, Any] = {}


def _completed_already(uow: UnitOfWork, item: WorkItem, actor_email: str,
                       answer: dict[str, Any] | None) -> None:
    """A complete of a done step: returns (with a note) when it repeats the completion, the
    same member with the same answer; otherwise refuses naming who completed it and when."""
    actor = actor_for(uow, actor_email)
    when = format_time(item.completed_at) if item.completed_at else "an earlier time"
    what = ref(item)
    if item.completed_by != actor.email:
        by = item.completed_by or "the process"
        raise TransitionRefused(phrase(
            "cannot complete %(ref)s: it is done (completed by %(member)s at %(when)s); a done "
            "step is not completed again", ref=what, member=by, when=when))
    try:
        same = _as_stored(validate_form(item.form_schema, answer, ref=what)) == \
            _as_stored(item.data)
    except FormInvalid:
        same = False
    if not same:
        raise TransitionRefused(phrase(
            "cannot complete %(ref)s: it is done (you completed it at %(when)s with another "
            "answer); a done step's answer is not changed: `mktflow work show %(ref)s` shows "
            "the answer recorded", ref=what, when=when))
    notes.tell(f"{what} was already completed by you at {when} with this answer; nothing "
               "changed")


def _as_stored(data: dict[str, Any] | None) -> Any:
    """``data`` as the JSON column gives it back (amounts as numbers), to compare answers."""
    return json.loads(json_dumps(data or {}))


def check_step_answer(uow: UnitOfWork, item: WorkItem, data: dict[str, Any] | None
                      ) -> dict[str, Any]:
    """``data`` checked as ``item``'s answer: against its form, then against the process's
    rules for that form; returns the clean data. Raises FormInvalid naming each field path.
    The one check ``complete`` and the page's *Check answers* share (inside a unit of work)."""
    clean = validate_form(item.form_schema, data, ref=ref(item))
    check_answer(uow.session, ref=ref(item), form_name=item.form_name,
                 process_id=item.process_id, data=clean)
    return clean


def check_draft(uow: UnitOfWork, item_id: int, data: dict[str, Any] | None) -> dict[str, Any]:
    """Check an answer (laid over the step's draft) as ``complete`` would, changing nothing:
    the page's *Check answers*. Returns the clean data; raises FormInvalid naming each field
    path, NotFound for an unknown step."""
    with uow:
        item = uow.session.get(WorkItem, item_id)
        if item is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=ref_of("work", item_id)))
        return check_step_answer(uow, item, merge_draft(item.draft, data))


def merge_draft(draft: dict[str, Any] | None, data: dict[str, Any] | None
                ) -> dict[str, Any] | None:
    """The answer a door submits: ``data``'s top-level keys laid over the step's draft.

    Shallow on purpose: a key given replaces the draft's whole value (a list of activities is
    replaced, not merged item by item), so what was sent is exactly what is checked. No data
    submits the draft as it is.
    """
    if draft is None:
        return data
    return {**draft, **(data or {})}


def cancel(uow: UnitOfWork, item_id: int, *, actor_email: str, reason: str | None) -> WorkItem:
    """Withdraw a step that is no longer needed.

    A step the flow of a running process made ends the process with it
    (``processes.end_for_cancelled_item``, in this transaction: status ``cancelled``, its other
    open steps and handoffs cancelled with the same reason), so whoever may end the process
    may cancel it, and nobody else (``processes.ender``); after the commit its waiting flow
    run is ended (``processes.tell_run``). A step a person attached to a process is cancelled
    alone, by the head of its department. A complaint's step is refused (its case is cancelled:
    ``complaints.cancel``).
    """
    with uow:
        instance = processes.lock_process_of(uow, WorkItem, item_id)
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "cancel", actor_email, reason=reason,
                            who=processes.ender(uow, instance, item))
        if uow.door is not Door.ENGINE:  # a complaint's step: the case is cancelled instead
            from mktflow.engine.complaint_cancel import cancel_refusal

            refused = cancel_refusal(uow, item)
            if refused is not None:
                raise TransitionRefused(refused)
        record(uow, item, rule, actor, reason=reason,
               tells=(Audience.ASSIGNEE,) if item.assignee_email else ())
        why = (processes.end_for_cancelled_item(uow, instance, item, actor=actor.email,
                                                reason=reason)
               if instance is not None and processes.ends_with(instance, item) else None)
        uow.commit()
    if instance is not None and why is not None:  # why: the process ended with the step
        processes.tell_run(uow, instance, why)
    return item


def update(
    uow: UnitOfWork,
    item_id: int,
    *,
    actor_email: str,
    due_at: datetime | WorkingDue | None = None,
    follow_up_at: datetime | None = None,
    priority: int | None = None,
    reason: str | None = None,
) -> WorkItem:
    """The head changes a step's due time, follow-up time or priority; a due time in working
    time is counted from now in the step's calendar (as ``create_work_item``)."""
    if priority is not None and not 0 <= priority <= 100:
        raise BadInput(on_field("priority", phrase("must be between 0 and 100, got %(got)s",
                                                   got=priority)))
    fields: dict[str, Any] = {}
    if due_at is not None:
        fields["due_at"] = due_at
        fields["due_basis"] = None
        fields["escalation_level"] = 0  # a new due time starts the escalation afresh
    if follow_up_at is not None:
        fields["follow_up_at"] = follow_up_at
    if priority is not None:
        fields["priority"] = priority
    if not fields:
        raise BadInput(phrase("nothing to update: give a due time, a follow-up time or a "
                              "priority"))
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "update", actor_email)
        if isinstance(due_at, WorkingDue):
            fields["due_at"], fields["due_basis"] = due_for(
                uow, due_at, branch=item.branch, members=(item.assignee_email, actor.email))
        if "due_basis" in fields:  # its message beside it, worded on the pages
            item.words = reworded(item.words, due_basis=fields["due_basis"])
        record(uow, item, rule, actor, reason=reason, fields=fields)
        uow.commit()
        return item


def comment(
    uow: UnitOfWork, item_id: int, *, actor_email: str, text: str, links: list[str] | None = None,
    reason: str | None = None, refused_answer: dict[str, Any] | None = None,
) -> WorkItem:
    """Add a note (and links) to a step's history; ``reason`` fills the entry's reason.

    Each link must be an http, https or mailto link (``inputs.check_links``): BadInput naming
    ``links`` and the link otherwise, and nothing is recorded.

    ``refused_answer``: an answer a door refused, kept on record in the entry's data (who gave
    it, at which door and what it said are the note's); it never becomes the step's draft nor
    touches another answer.
    """
    if not text.strip():
        raise BadInput(on_field("text", phrase("a comment must not be empty")))
    check_text(text, field="text", max_length=TEXT_MAX, multiline=True)
    # a text a flow wrote (a ``Phrase``) is kept whole: its message is the entry's ``words``
    kept = text if isinstance(text, Phrase) else text.strip()
    data: dict[str, Any] = {"text": kept, "links": check_links(links)}
    if refused_answer is not None:
        data["refused_answer"] = refused_answer
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "comment", actor_email)
        record(uow, item, rule, actor, data=data, reason=reason)
        uow.commit()
        return item


def save_draft(uow: UnitOfWork, item_id: int, *, actor_email: str,
               draft: dict[str, Any]) -> WorkItem:
    """Keep a half-filled answer as the step's draft (every door pre-fills the answer with it).

    Only the holder who may complete the step may write it (the ``draft`` rule: four eyes and
    the approver's role apply, so an excluded member cannot plant a decision that the holder
    then submits). Raises BadInput for a draft that is not a JSON object, and for a draft of a
    daily report step: the department's members see its steps, and a work report is read only
    by its member, their head and management (``mktflow.domain.work_reports``).
    """
    if not isinstance(draft, dict):
        raise BadInput(on_field("draft", phrase("must be a JSON object, got %(got)s",
                                            got=type(draft).__name__)))
    with uow:
        item = get_for_update(uow, WorkItem, item_id)
        actor, rule = check(uow, item, "draft", actor_email)
        if item.form_name == REPORT_FORM_NAME:
            raise BadInput(on_field("draft", phrase(
                "a daily report keeps no draft (the department's members see its step; the "
                "report is read by you, your head and management): submit it, and send it "
                "again to revise it")))
        record(uow, item, rule, actor, fields={"draft": draft})
        uow.commit()
        return item


def reassign_all(
    uow: UnitOfWork, *, from_email: str, to_email: str, actor_email: str
) -> list[WorkItem]:
    """Hand everything one member holds to another (a member leaves or is away); all or none.

    The source may have left already (inactive): that is when their work must move. Steps they
    delegated (they stay responsible) pass to the new member as holder too. The target must be
    an active member who may hold each step, and not the source (BadInput: nothing moves, no
    audit entry).
    """
    with uow:
        source = find_member(uow.session, from_email)
        if source is None:
            raise NotFound(phrase("no member with e-mail %(email)s", email=repr(from_email)))
        if normalise_email(to_email) == source.email:
            raise BadInput(on_field("to", phrase(
                "%(email)s is whom the work would come from: choose another member to take it",
                email=source.email)))
        items = list(uow.session.exec(
            select(WorkItem)
            .where((col(WorkItem.assignee_email) == source.email)
                   | (col(WorkItem.owner_email) == source.email),
                   col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))
            .order_by(col(WorkItem.id))
            .with_for_update()
        ))
        for item in items:
            actor, rule = check(uow, item, "reassign", actor_email)
            member = eligible(uow, item, to_email, "reassign")
            fields = ({"assignee_email": member.email} if item.assignee_email == source.email
                      else {"owner_email": member.email})
            record(uow, item, rule, actor, fields=fields,
                   reason=f"reassigned from {source.email}")
        uow.commit()
        return items

