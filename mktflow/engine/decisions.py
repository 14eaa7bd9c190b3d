"""One decision, one door: a handoff and the step that decides it move together.

A flow that offers a handoff and asks the receiving department to decide it (the new-product
project's responsibility letters: ``flows/new_product_development.py``) gives the handoff and
the deciding step **the same process and the same step key** (both unique per process). That
pair is the link; nothing else is. The step's form answers with ``decision``, whose value is
the handoff action it takes (``accept`` or ``reject``, with ``reason``).

Whichever door the decision is made at, it is made once:

* accepting or rejecting the handoff (its page, ``mktflow handoff accept``, the API) completes
  the deciding step in the same transaction, with ``{"decision": ..., "reason": ...}``, who
  decided it and an audit entry saying where it was decided; the flow run waiting on the step
  is then resumed (``engine.steps.hand_over``);
* completing the deciding step accepts or rejects the handoff in the same transaction;
* the department is told once: the handoff's offer (``handoff.offered``, linking to the
  handoff's page) is its notice, and the deciding step is created without a second one.

A deliverable (``deliver``, ``confirm``, ``return``) of a handoff that a running process's flow
made (it has a step key) is moved by that flow's steps: the stage's work step delivers it and
the stage gate confirms or returns it, so those actions are refused at people's doors, naming
the open steps of the process where they are taken (``flow_moves``). A handoff a person
attached to a process, or one of no process, is moved at its own page as before.

Locks: the handoff's row is locked before the step's, at both doors, so two people deciding
at once wait for each other instead of deadlocking.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import Actor, Door, authorize
from mktflow.domain.model import (
    OPEN_WORK_STATES,
    WORK_RULES,
    HandoffKind,
    HandoffState,
    Party,
    ProcessStatus,
    WorkState,
    rule_for,
)
from mktflow.domain.words import phrase, word
from mktflow.engine.common import ref, target_of
from mktflow.engine.forms import validate_form
from mktflow.engine.transitions import check, record
from mktflow.store.tables import Handoff, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = [
    "DECISIONS",
    "FLOW_MOVED",
    "apply_handoff",
    "decides_offered",
    "deciding_step",
    "flow_moves",
    "linked_handoff_id",
    "moving_process",
    "settle_handoff",
    "settle_step",
]

#: The handoff actions a deciding step's ``decision`` may name.
DECISIONS = ("accept", "reject")
#: The handoff actions a running process's flow takes itself, from its steps' answers.
FLOW_MOVED = ("deliver", "confirm", "return")


def moving_process(uow: UnitOfWork, handoff: Handoff) -> ProcessInstance | None:
    """The running process whose flow made ``handoff`` (it has a step key) and so takes its
    ``FLOW_MOVED`` actions itself, when a person's door asks; None for the engine's own door,
    a handoff a person made, or a process that has ended (a plain read)."""
    if uow.door is Door.ENGINE or handoff.step_key is None or handoff.process_id is None:
        return None
    process = uow.session.get(ProcessInstance, handoff.process_id)
    return process if process is not None and process.status == ProcessStatus.RUNNING else None


def flow_moves(uow: UnitOfWork, handoff: Handoff, action: str) -> str | None:
    """Why a person may not take ``action`` on ``handoff`` at a door, or None when they may:
    the action is one the flow of ``moving_process`` takes from its steps' answers
    (``FLOW_MOVED``). The reason names the process's open steps, where the decision is made
    (a plain read)."""
    process = moving_process(uow, handoff) if action in FLOW_MOVED else None
    if process is None:
        return None
    open_steps = list(uow.session.exec(select(WorkItem).where(
        col(WorkItem.process_id) == handoff.process_id,
        col(WorkItem.state).in_(OPEN_WORK_STATES)).order_by(col(WorkItem.id)).limit(3)))
    where = "; ".join(f"{ref(w)} '{w.title}' in {w.department}" for w in open_steps)
    past = {"deliver": "delivered", "confirm": "confirmed", "return": "returned"}[action]
    return (f"{ref(handoff)} is {past} by the steps of {ref(process)}, not on the handoff: "
            + (f"act at its open step{'s' if len(open_steps) > 1 else ''} ({where})" if where
               else "its flow does it when the step that carries it is answered"))


def linked_handoff_id(uow: UnitOfWork, process_id: int | None, step_key: str | None
                      ) -> int | None:
    """The id of the handoff of the same process and step key (a plain read), if any."""
    if process_id is None or step_key is None:
        return None
    return uow.session.exec(select(Handoff.id).where(
        col(Handoff.process_id) == process_id, col(Handoff.step_key) == step_key)).first()


def deciding_step(uow: UnitOfWork, handoff: Handoff) -> WorkItem | None:
    """The step that decides ``handoff`` (same process and step key), if there is one."""
    if handoff.process_id is None or handoff.step_key is None:
        return None
    return uow.session.exec(select(WorkItem).where(
        col(WorkItem.process_id) == handoff.process_id,
        col(WorkItem.step_key) == handoff.step_key).with_for_update()).first()


def decides_offered(uow: UnitOfWork, *, process_id: int | None, step_key: str | None,
                    department: str) -> bool:
    """Whether a step about to be created decides a handoff offered to ``department`` (whose
    offer already told the department: the step adds no notice of its own)."""
    handoff_id = linked_handoff_id(uow, process_id, step_key)
    if handoff_id is None:
        return False
    handoff = uow.session.get(Handoff, handoff_id)
    return handoff is not None and handoff.state == HandoffState.OFFERED \
        and handoff.to_department == department


def apply_handoff(uow: UnitOfWork, handoff: Handoff, action: str, actor: Actor, rule: Any, *,
                  reason: str | None = None, data: dict[str, Any] | None = None) -> None:
    """Record ``action`` (already checked: ``rule``) on ``handoff`` with the fields it sets:
    when it was accepted (and who signed a letter), delivered, returned, closed."""
    now = uow.now()
    fields: dict[str, Any] = {}
    if reason:
        fields["reason"] = reason.strip()
    if action == "accept":
        fields["accepted_at"] = now
        if handoff.kind == HandoffKind.RESPONSIBILITY_LETTER:
            fields["signed_by"] = actor.email
    elif action == "deliver":
        fields["delivered_at"] = now
        if data is not None:
            fields["data"] = data
    elif action == "return":
        fields["return_count"] = handoff.return_count + 1
    if rule.target in (HandoffState.CONFIRMED, HandoffState.REJECTED, HandoffState.CANCELLED):
        fields["closed_at"] = now
    record(uow, handoff, rule, actor, reason=reason, data=data, fields=fields)


def settle_step(uow: UnitOfWork, handoff: Handoff, action: str, actor: Actor,
                reason: str | None) -> WorkItem | None:
    """Complete the open step that decides ``handoff`` as decided on the handoff (inside the
    caller's transaction); the step, or None when no open step decides it.

    The step's own guards still hold (four eyes, a proven identity): ``actor`` must be one who
    may complete it, whoever held it. Its answer is checked against its form (FormInvalid,
    nothing written: a rejection's reason too short for the step is too short here).
    """
    if action not in DECISIONS:
        return None
    step = deciding_step(uow, handoff)
    if step is None or step.state not in (WorkState.OPEN, WorkState.CLAIMED,
                                          WorkState.DELEGATED):
        return None
    complete = rule_for(WORK_RULES, phrase("%(kind)s %(ref)s", kind=word("work item"),
                                          ref=ref(step)), "complete", WorkState.CLAIMED)
    authorize(actor, replace(complete, who=(Party.MEMBER,)), target_of(step))
    answer = validate_form(step.form_schema, {"decision": action, "reason": reason or ""},
                           ref=ref(step))
    record(uow, step, complete, actor, to_state=WorkState.DONE,
           reason=f"decided on {ref(handoff)}: {handoff.kind.replace('_', ' ')} "
                  f"{'accepted' if action == 'accept' else 'rejected'}",
           data=answer, fields={"data": answer, "assignee_email": actor.email,
                                "completed_by": actor.email, "completed_at": uow.now()})
    return step


def settle_handoff(uow: UnitOfWork, step: WorkItem, actor: Actor, answer: dict[str, Any]
                   ) -> Handoff | None:
    """Accept or reject the handoff ``step`` decides, as its answer says (inside the caller's
    transaction, the handoff already locked); the handoff, or None when the step decides none
    or the handoff already stands where the answer puts it. Refuses as the handoff's own rules
    do (who may, its state)."""
    decision = answer.get("decision")
    handoff_id = linked_handoff_id(uow, step.process_id, step.step_key)
    if decision not in DECISIONS or handoff_id is None:
        return None
    handoff = uow.session.get(Handoff, handoff_id)
    assert handoff is not None
    reason = answer.get("reason") or None
    if handoff.state == {"accept": HandoffState.ACCEPTED,
                         "reject": HandoffState.REJECTED}[str(decision)]:
        return None
    _, rule = check(uow, handoff, str(decision), actor.email, reason=reason)
    apply_handoff(uow, handoff, str(decision), actor, rule, reason=reason)
    return handoff
