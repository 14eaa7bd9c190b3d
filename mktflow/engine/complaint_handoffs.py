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

A person's **cancel** of a case's handoff is refused, naming the case: it would end the case's
process and leave the case handed over; the head of customer service cancels the case
(``complaints.cancel``), which cancels its handoff too (a case's step is refused alike:
``complaint_steps.cancel_refusal``). Other actions on the handoff (reject, ...) and a handoff
whose act step is not open keep the handoff's own rules. Source: seed 001, 市场部管理制度
五、工作流程 2.(1) C.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from mktflow.domain.complaints import (
    StepKind,
    complaint_ref,
    step_key,
)
from mktflow.domain.model import OPEN_WORK_STATES, WorkState
from mktflow.engine.common import get_for_update, ref
from mktflow.engine.decisions import apply_handoff
from mktflow.engine.forms import validate_form
from mktflow.engine.transitions import check, record
from mktflow.store.tables import Complaint, Handoff, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["MOVES_CASE", "act", "moves_case"]

#: The handoff actions that move a complaint's case as its act step does.
MOVES_CASE = ("accept", "deliver")


def _act_step(uow: UnitOfWork, handoff_id: int) -> tuple[int, int, str] | None:
    """The case handed over with ``handoff_id`` and its open act step: (case id, step id, step
    state), or None (a plain read)."""
    case = uow.session.exec(select(Complaint).where(
        col(Complaint.handoff_id) == handoff_id)).first()
    if case is None or case.id is None or case.process_id is None:
        return None
    step = uow.session.exec(select(WorkItem).where(
        col(WorkItem.process_id) == case.process_id,
        col(WorkItem.step_key) == step_key(StepKind.ACT, case.round),
        col(WorkItem.state).in_(OPEN_WORK_STATES))).first()
    if step is None or step.id is None:
        return None
    return case.id, step.id, step.state


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
