"""What answering a complaint's step does to its case, in the step's own transaction, and the
case's next step: ``work.complete`` calls ``follow_step`` for every step whose form is a
complaint's (``domain.complaints.FORM_NAMES``), whichever door answered it.

- the *respond* step (customer service): the case is handed over: a handoff to the department
  that must act, due when customer service said, and that department's *act* step;
- the *act* step: the handoff is accepted and delivered with what was done, and customer
  service gets the *customer* step;
- the *customer* step: satisfied closes the case (the handoff confirmed, the customer file
  updated, the process completed); not satisfied reopens it for a new round and tells
  management.

Source: seed 001, 市场部管理制度 五、工作流程 2.(1) C. The commands and reads are
``engine.complaints``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM, Actor, Target, authorize
from mktflow.domain.calendars import WorkingDue, parse_due
from mktflow.domain.complaints import (
    ACTING,
    COMPLAINT_FORMS,
    FORM_NAMES,
    RESPONSE_DUE,
    StepKind,
    check_customer_answer,
    complaint_ref,
    complaint_rule,
    parse_step_key,
    step_key,
)
from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import REASON_MAX, check_text, due_ahead, format_time
from mktflow.domain.model import (
    HANDOFF_RULES,
    MANAGEMENT,
    HandoffState,
    ProcessStatus,
    rule_for,
)
from mktflow.domain.words import Phrase, on_field, phrase, word
from mktflow.engine.common import as_engine, ref
from mktflow.engine.decisions import apply_handoff
from mktflow.engine.new_items import create_within, offer_within
from mktflow.engine.notices import Recipient, notice_recipients
from mktflow.engine.processes import close
from mktflow.store.tables import Complaint, Customer, Handoff, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["complaint_target", "due_or_default", "follow_step", "new_step"]



def _title(kind: StepKind, ref: str, customer: str) -> Phrase:
    """The title of a case's step, a message worded where shown."""
    if kind is StepKind.RESPOND:
        return phrase("Respond to complaint %(ref)s (%(customer)s): hand it to the department "
                      "that must act", ref=ref, customer=customer)
    if kind is StepKind.ACT:
        return phrase("Act on complaint %(ref)s (%(customer)s) and say what was done", ref=ref,
                      customer=customer)
    return phrase("Ask the customer about complaint %(ref)s (%(customer)s): satisfied?",
                  ref=ref, customer=customer)


def _short(text: Phrase) -> str:
    """``text`` as a title (at most 300 characters; cut only when longer, so the message
    stays beside it)."""
    return text if len(text) <= 300 else text[:300]


def complaint_target(case: Complaint) -> Target:
    """What the rule rows need of a case: customer service owns it, the acting department
    (once handed over) receives it, and both are involved (the read table)."""
    involved = {case.department, *([case.acting_department] if case.acting_department else [])}
    return Target(ref=complaint_ref(case.id), department=case.department, branch=case.branch,
                  offering=case.department, involved=frozenset(involved))


def due_or_default(raw: str | datetime | WorkingDue | None, now: datetime, field: str
                   ) -> datetime | WorkingDue:
    """A due input (text as ``parse_due`` reads it: working time or a time; or parsed
    already), ``RESPONSE_DUE`` when none; BadInput naming ``field`` for bad text or a time
    already past (``due_ahead``)."""
    due = parse_due(raw, field=field) if isinstance(raw, str) else raw
    due = due if due is not None else parse_due(RESPONSE_DUE)
    assert due is not None
    return due_ahead(due, now, field=field)


def new_step(uow: UnitOfWork, case: Complaint, kind: StepKind, department: str,
             due_at: datetime | WorkingDue, customer: str, note: Phrase | None = None,
             back: int = 0) -> WorkItem:
    """The case's next step in ``department``'s queue, inside the open transaction (keyed
    ``step_key(kind, case.round, back)``: ``back`` hand-backs in this round)."""
    form = COMPLAINT_FORMS[kind]
    with as_engine(uow):
        return create_within(
            uow, actor_email=SYSTEM.email, department=department,
            title=_short(_title(kind, complaint_ref(case.id), customer)),
            description=phrase("The customer said: %(text)s\n\n%(note)s", text=case.text,
                               note=note) if note
            else phrase("The customer said: %(text)s", text=case.text),
            form_schema=form.model_json_schema(), form_name=FORM_NAMES[kind],
            due_at=due_at, process_id=case.process_id, step_key=step_key(kind, case.round, back),
            branch=case.branch)


def follow_step(uow: UnitOfWork, item: WorkItem, actor: Actor, data: dict[str, Any]) -> None:
    """Move the case of ``item`` (a complaint step just completed with ``data``) and put its
    next step in a queue, inside ``work.complete``'s transaction. Raises BadInput naming the
    field, TransitionRefused for a case not in the state the step's action needs."""
    case = uow.session.exec(select(Complaint).where(
        col(Complaint.process_id) == item.process_id).with_for_update()).first()
    parsed = parse_step_key(item.step_key)
    if case is None or parsed is None:
        return
    kind, _, back = parsed
    cref = complaint_ref(case.id)
    cust = uow.session.get(Customer, case.customer_id, with_for_update=True)
    assert cust is not None and case.id is not None
    before = case.state
    audit: dict[str, Any] = {"step": ref(item)}
    reason = None
    if kind is StepKind.RESPOND:
        rule = complaint_rule("hand_over", case.state, ref=cref)
        authorize(actor, rule, complaint_target(case))
        to = str(data.get("to") or "")
        if to not in ACTING:
            raise BadInput(on_field("to", phrase("must be one of %(choices)s, got %(got)s",
                                                 choices=", ".join(ACTING), got=repr(to))))
        request = check_text(str(data.get("request") or "").strip(), field="request",
                             max_length=REASON_MAX, multiline=True)
        if not request:
            raise BadInput(on_field("request", phrase("say what the department must do")))
        due = due_or_default(str(data.get("due") or "") or None, uow.now(), "due")
        with as_engine(uow):
            handoff = offer_within(
                uow, actor_email=SYSTEM.email, from_department=case.department,
                to_department=to, title=_short(phrase(
                    "Complaint %(ref)s (%(customer)s): %(request)s", ref=cref,
                    customer=cust.name, request=request)),
                due_at=due, criteria=phrase("The customer said: %(text)s", text=case.text),
                deliverables=["what was done"], process_id=case.process_id,
                step_key=step_key("handoff", case.round, back), branch=case.branch)
        case.acting_department, case.request, case.handoff_id = to, request, handoff.id
        assert handoff.due_at is not None
        step = new_step(uow, case, StepKind.ACT, to, handoff.due_at, cust.name,
                        note=phrase("Customer service asks: %(request)s", request=request),
                        back=back)
        audit |= {"to": to, "handoff": f"H-{handoff.id}", "next": ref(step),
                  "due": format_time(handoff.due_at)}
    elif kind is StepKind.ACT:
        rule = complaint_rule("answer", case.state, ref=cref)
        authorize(actor, rule, replace(complaint_target(case),
                                       department=case.acting_department or ""))
        done = str(data.get("done") or "").strip()
        if not done:
            raise BadInput(on_field("done", phrase("say what was done")))
        case.done = check_text(done, field="done", max_length=REASON_MAX, multiline=True)
        _deliver(uow, case, actor, done)
        step = new_step(uow, case, StepKind.CUSTOMER, case.department,
                         due_or_default(None, uow.now(), "due"), cust.name,
                         note=phrase("%(department)s did: %(done)s",
                                     department=case.acting_department or "", done=done))
        audit |= {"next": ref(step)}
    else:
        satisfied, note = check_customer_answer(data.get("satisfied"), data.get("note"))
        rule = complaint_rule("close" if satisfied else "reopen", case.state, ref=cref)
        authorize(actor, rule, complaint_target(case))
        case.satisfied, case.customer_note = satisfied, note
        reason = note
        if satisfied:
            _close(uow, case, cust, actor)
        else:
            case.round += 1
            case.escalation_level += 1
            step = new_step(uow, case, StepKind.RESPOND, case.department,
                             due_or_default(None, uow.now(), "due"), cust.name,
                             note=phrase("Reopened: the customer is not satisfied: %(note)s",
                                         note=note or ""))
            case.respond_due = step.due_at
            _tell_management(uow, case, step, actor, note or "")
            audit |= {"next": ref(step), "escalation_level": case.escalation_level}
    case.state = rule.target
    case.updated_at = uow.now()
    uow.session.add(case)
    uow.audit(actor=actor.email, entity_type="complaint", entity_id=case.id,
              process_id=case.process_id, action=rule.action, from_state=before,
              to_state=case.state, reason=reason, data=audit)


def _deliver(uow: UnitOfWork, case: Complaint, actor: Actor, done: str) -> None:
    """The acting department's handoff: accepted (if still offered) and delivered with what
    was done, inside the open transaction."""
    handoff = uow.session.get(Handoff, case.handoff_id, with_for_update=True) \
        if case.handoff_id else None
    if handoff is None:
        return
    name = f"handoff H-{handoff.id}"
    if handoff.state == HandoffState.OFFERED:
        apply_handoff(uow, handoff, "accept", actor,
                      rule_for(HANDOFF_RULES, name, "accept", handoff.state))
    if handoff.state in (HandoffState.ACCEPTED, HandoffState.RETURNED):
        apply_handoff(uow, handoff, "deliver", actor,
                      rule_for(HANDOFF_RULES, name, "deliver", handoff.state),
                      data={"done": done})


def _close(uow: UnitOfWork, case: Complaint, cust: Customer, actor: Actor) -> None:
    """A satisfied customer: the handoff confirmed, the customer file updated (one open case
    fewer, the case in its history), the process completed."""
    handoff = uow.session.get(Handoff, case.handoff_id, with_for_update=True) \
        if case.handoff_id else None
    if handoff is not None and handoff.state == HandoffState.DELIVERED:
        apply_handoff(uow, handoff, "confirm", actor,
                      rule_for(HANDOFF_RULES, phrase("%(kind)s %(ref)s", kind=word("handoff"),
                                                    ref=f"H-{handoff.id}"), "confirm",
                               handoff.state))
    case.closed_at = uow.now()
    cust.open_complaints = max(0, cust.open_complaints - 1)
    cust.history = [*cust.history, {
        "complaint": complaint_ref(case.id), "order": case.order_number,
        "at": uow.now().isoformat(), "done": case.done, "rounds": case.round}]
    cust.updated_at = uow.now()
    uow.session.add(cust)
    instance = uow.session.get(ProcessInstance, case.process_id, with_for_update=True) \
        if case.process_id else None
    if instance is not None and instance.status == ProcessStatus.RUNNING:
        close(uow, instance, status=ProcessStatus.COMPLETED, actor=actor.email,
              result={"complaint": complaint_ref(case.id), "outcome": "closed",
                      "rounds": case.round})


def _tell_management(uow: UnitOfWork, case: Complaint, step: WorkItem, actor: Actor,
                     note: str) -> None:
    """A customer not satisfied escalates the case: management is told, with the note."""
    notice_recipients(uow, step, event="complaint.reopened",
                      recipients=[Recipient(MANAGEMENT)], actor=actor.email,
                      reason=f"{complaint_ref(case.id)}: the customer is not satisfied "
                             f"(escalation level {case.escalation_level}): {note}")
