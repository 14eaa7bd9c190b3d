"""What acting on a complaint's handoff directly does to its case: the same as its act step.

A case handed over (``complaint_steps.follow_step``, the *respond* step) puts two things in the
acting department's hands: the handoff (``handoff-<round>``) and the *act* step
(``act-<round>``). Whichever of the two the department moves, the case moves the same way
(``handoffs.act`` asks here first, for every person's accept and deliver):

- **accept** of the handoff (``mktflow handoff accept H-n``, its page, the API): the department
  takes the work on; the act step, if still in the queue, is claimed by whoever accepted, in
  the same transaction, and the case's trail says so. The case stays ``handed_over``;
- **deliver** of the handoff with ``{"done": "what was done"}`` (the act step's form,
  ``domain.complaints.ActForm``): the act step is completed with that answer (claimed first
  when in the queue), which delivers the handoff, moves the case to ``answered`` and puts the
  customer step in customer service's queue (``work.complete`` → ``follow_step``); a flow run
  waiting on the step is resumed. A deliver without ``done`` is refused naming the field, and
  leaves nothing behind.

- **reject** of the handoff, with a reason (``mktflow handoff reject H-n``, its page, the API):
  the department gives the case back (``hand_back``, in the rejection's transaction): its act
  step is cancelled with the rejection's reason, the case is ``open`` again in the same round,
  and customer service gets a new respond step (``respond-<round>-back-<n>``) whose
  description names the department and its reason, so it hands the case to another department,
  or to the same one with a better request. A ``complaint`` flow run waiting on the act step is
  woken after the commit (``processes.wake_run``) and goes on to the new respond step.

A person's **cancel** of a case's handoff is refused, naming the case: it would end the case's
process and leave the case handed over; the head of customer service cancels the case
(``complaints.cancel``), which cancels its handoff too (a case's step is refused alike:
``complaint_cancel.cancel_refusal``). Other actions on the handoff and a handoff whose act step
is not open keep the handoff's own rules. Source: seed 001, 市场部管理制度
五、工作流程 2.(1) C.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import Actor, authorize
from mktflow.domain.complaints import (
    CUSTOMER_SERVICE,
    ComplaintState,
    StepKind,
    complaint_ref,
    complaint_rule,
    parse_step_key,
)
from mktflow.domain.inputs import REASON_MAX, format_time
from mktflow.domain.model import OPEN_WORK_STATES, WORK_RULES, WorkState, rule_for
from mktflow.domain.words import phrase, word
from mktflow.engine.common import get_for_update, ref
from mktflow.engine.complaint_steps import complaint_target, due_or_default, new_step
from mktflow.engine.decisions import apply_handoff
from mktflow.engine.forms import validate_form
from mktflow.engine.transitions import check, record
from mktflow.store.tables import Complaint, Customer, Handoff, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["MOVES_CASE", "act", "hand_back", "moves_case"]

#: The handoff actions that move a complaint's case as its act step does.
MOVES_CASE = ("accept", "deliver")


def _act_step(uow: UnitOfWork, handoff_id: int) -> tuple[int, int, str] | None:
    """The case handed over with ``handoff_id`` and its open act step: (case id, step id, step
    state), or None (a plain read)."""
    case = uow.session.exec(select(Complaint).where(
        col(Complaint.handoff_id) == handoff_id)).first()
    if case is None or case.id is None or case.process_id is None:
        return None
    step = _open_act_step(uow, case)
    if step is None or step.id is None:
        return None
    return case.id, step.id, step.state


def _open_act_step(uow: UnitOfWork, case: Complaint, *, for_update: bool = False
                   ) -> WorkItem | None:
    """The case's open act step of its round (``act-<round>``, ``act-<round>-back-<n>``)."""
    query = select(WorkItem).where(col(WorkItem.process_id) == case.process_id,
                                   col(WorkItem.state).in_(OPEN_WORK_STATES))
    for step in uow.session.exec(query.with_for_update() if for_update else query):
        parsed = parse_step_key(step.step_key)
        if parsed is not None and parsed[:2] == (StepKind.ACT, case.round):
            return step
    return None


def moves_case(uow: UnitOfWork, handoff_id: int | None) -> bool:
    """Whether ``handoff_id`` is a complaint's handoff whose act step is open, so its accept
    and deliver move the case (inside an open unit of work; a plain read). The handoff's page
    offers its deliver then, and its note is the act step's ``done``."""
    return handoff_id is not None and _act_step(uow, handoff_id) is not None


def act(uow: UnitOfWork, handoff_id: int, action: str, *, actor_email: str,
        data: dict[str, Any] | None) -> Handoff | None:
    """Take ``action`` on a complaint's handoff as its act step would; the handoff, or None
    when the handoff is no complaint's with an open act step, or the action moves no case
    (the caller applies the handoff's own rules then). Raises as the step's commands do
    (FormInvalid naming ``done``, NotAuthorized, TransitionRefused)."""
    if action not in MOVES_CASE:
        return None
    with uow:
        found = _act_step(uow, handoff_id)
    if found is None:
        return None
    case_id, step_id, state = found
    if action == "accept":
        _accept(uow, handoff_id, case_id, step_id, actor_email=actor_email)
    else:
        _deliver(uow, step_id, state, actor_email=actor_email, data=data)
    with uow:
        handoff = uow.session.get(Handoff, handoff_id)
        assert handoff is not None
        return handoff


def _accept(uow: UnitOfWork, handoff_id: int, case_id: int, step_id: int, *,
            actor_email: str) -> None:
    """Accept the handoff and claim the act step for the acceptor, in one transaction."""
    with uow:
        handoff = get_for_update(uow, Handoff, handoff_id)
        step = get_for_update(uow, WorkItem, step_id)
        actor, rule = check(uow, handoff, "accept", actor_email)
        if step.state == WorkState.OPEN:
            _, claim = check(uow, step, "claim", actor_email)
            record(uow, step, claim, actor, reason=f"accepted {ref(handoff)}",
                   fields={"assignee_email": actor.email})
        apply_handoff(uow, handoff, "accept", actor, rule)
        uow.audit(actor=actor.email, entity_type="complaint", entity_id=case_id,
                  process_id=handoff.process_id, action="accept",
                  data={"handoff": ref(handoff), "step": ref(step),
                        "holder": step.assignee_email, "complaint": complaint_ref(case_id)})
        uow.commit()


def _deliver(uow: UnitOfWork, step_id: int, state: str, *, actor_email: str,
             data: dict[str, Any] | None) -> None:
    """Complete the act step with the deliver's data (checked against its form first, so a
    refused deliver claims nothing), then resume the flow run waiting on it."""
    from mktflow.engine import work
    from mktflow.engine.steps import hand_over

    with uow:
        step = uow.session.get(WorkItem, step_id)
        assert step is not None
        validate_form(step.form_schema, data, ref=ref(step))
    if state == WorkState.OPEN:
        work.claim(uow, step_id, actor_email=actor_email)
    hand_over(uow, work.complete(uow, step_id, actor_email=actor_email, data=data))


def hand_back(uow: UnitOfWork, handoff: Handoff, actor: Actor, reason: str | None
              ) -> WorkItem | None:
    """The acting department rejected ``handoff`` (the case's, still offered) with ``reason``:
    give the case back to customer service, inside the rejection's transaction (the handoff
    locked already, then the steps, the case and the customer, the order a step's answer takes
    them). The act step is cancelled with the reason; the case is ``open`` in the same round;
    customer service's new respond step (``respond-<round>-back-<n>``) names the department and
    its reason; audited on the case (``hand_back``). Returns the cancelled act step (its flow run
    is woken after the commit: ``processes.wake_run``), or None when ``handoff`` is no open
    case's. Raises NotAuthorized or TransitionRefused as ``COMPLAINT_RULES`` say. Source: seed
    001, 市场部管理制度 五、工作流程 2.(1) C (customer service leads the case to a solution)."""
    if handoff.id is None:
        return None
    seen = uow.session.exec(select(Complaint).where(
        col(Complaint.handoff_id) == handoff.id)).first()
    if seen is None or seen.state in (ComplaintState.CLOSED, ComplaintState.CANCELLED):
        return None
    step = _open_act_step(uow, seen, for_update=True)
    case = uow.session.get(Complaint, seen.id, with_for_update=True, populate_existing=True)
    assert case is not None and case.id is not None
    cref = complaint_ref(case.id)
    rule = complaint_rule("hand_back", case.state, ref=cref)
    authorize(actor, rule, replace(complaint_target(case),
                                   department=case.acting_department or ""))
    cust = uow.session.get(Customer, case.customer_id, with_for_update=True)
    assert cust is not None
    because = (reason or "").strip()
    back = 0
    if step is not None:
        parsed = parse_step_key(step.step_key)
        back = parsed[2] if parsed is not None else 0
        cancel = rule_for(WORK_RULES, phrase("%(kind)s %(ref)s", kind=word("work item"),
                                             ref=ref(step)), "cancel", step.state)
        record(uow, step, cancel, actor, tells=(), reason=(
            f"{ref(handoff)} was rejected by {actor.email}: {because}")[:REASON_MAX])
    department = case.acting_department or handoff.to_department
    nxt = new_step(uow, case, StepKind.RESPOND, CUSTOMER_SERVICE,
                   due_or_default(None, uow.now(), "due"), cust.name, back=back + 1,
                   note=phrase("Handed back: %(department)s rejected %(handoff)s: %(reason)s. "
                               "Hand the case to another department, or to the same one with "
                               "a better request.", department=word(department),
                               handoff=ref(handoff), reason=because))
    before = case.state
    case.state, case.respond_due, case.updated_at = rule.target, nxt.due_at, uow.now()
    uow.session.add(case)
    uow.audit(actor=actor.email, entity_type="complaint", entity_id=case.id,
              process_id=case.process_id, action=rule.action, from_state=before,
              to_state=case.state, reason=because,
              data={"handoff": ref(handoff), "department": department,
                    "cancelled": None if step is None else ref(step), "next": ref(nxt),
                    "due": format_time(nxt.due_at)})
    return step
