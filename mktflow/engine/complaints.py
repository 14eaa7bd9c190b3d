"""Command handlers and reads for customer complaints: open a case in customer service, hand it
to the department that must act, that department's answer, the customer's answer that closes or
reopens it, and the case and customer views.

Source: seed 001, 市场部管理制度 四、职责分工 2 and 五、工作流程 2.(1) C (客户服务部). The rules are
``mktflow.domain.complaints``; who may see a case is the read table's ``complaint`` row
(customer service, the acting department, management).

A case is a process instance (``complaint``, business key ``C-n``) whose steps are work items:
*respond* in customer service's queue (due at the response deadline), *act* in the acting
department's (with a handoff to it, both due when customer service said), *customer* in
customer service's again. Answering a step at any door (``mktflow work complete``, its page,
``mktflow complaint hand-over|answer|close``, ``POST /complaints/{item}/...``) moves the case
in the step's own transaction (``follow_step``, called by ``work.complete``) and puts the next
step in its queue; the ``complaint`` flow, when it opened the case, waits on those same steps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select

from mktflow.domain.actors import Actor, Target, authorize, authorize_read, may_read
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.complaints import (
    CUSTOMER_SERVICE,
    ComplaintSource,
    ComplaintState,
    StepKind,
    check_customer_answer,
    check_opening,
    complaint_ref,
    complaint_rule,
    parse_step_key,
)
from mktflow.domain.errors import BadInput, NotFound, TransitionRefused
from mktflow.domain.inputs import REASON_MAX, check_id, check_text, format_time
from mktflow.domain.model import (
    OPEN_WORK_STATES,
    ProcessStatus,
    Readable,
    WorkState,
    read_rule,
)
from mktflow.domain.words import on_field, phrase, word
from mktflow.engine.common import actor_for, ref
from mktflow.engine.complaint_steps import complaint_target, due_or_default, new_step
from mktflow.engine.processes import close, tell_run
from mktflow.engine.refs import ref_number
from mktflow.engine.views import ComplaintHistoryEntry, ComplaintPublic, ComplaintStep
from mktflow.engine.visibility import reading_actor
from mktflow.store.tables import (
    AuditEntry,
    Complaint,
    Customer,
    Handoff,
    ProcessInstance,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "PROCESS",
    "answer",
    "cancel",
    "complaint_number",
    "complaint_target",
    "customer_answer",
    "hand_over",
    "list_complaints",
    "open_complaint",
    "show_complaint",
]

#: The process (and flow) name of a case.
PROCESS = "complaint"

def complaint_number(reference: str | int) -> int:
    """The id in ``C-4`` (or ``4``); NotFound naming what was given otherwise."""
    number = ref_number(reference, "C")
    if number is None:
        raise NotFound(on_field("complaint", phrase(
            "%(given)s names no complaint (a complaint is named C-<number>)",
            given=repr(str(reference).strip()))))
    return check_id(number, complaint_ref(number))


def _case(uow: UnitOfWork, complaint_id: int, *, for_update: bool = False) -> Complaint:
    case = uow.session.get(Complaint, check_id(complaint_id, complaint_ref(complaint_id)),
                           with_for_update=for_update)
    if case is None:
        raise NotFound(phrase("%(ref)s does not exist", ref=complaint_ref(complaint_id)))
    return case


def open_complaint(uow: UnitOfWork, *, actor_email: str, customer: str | None,
                   text: str | None, order: str | None = None,
                   customer_name: str | None = None, source: str = ComplaintSource.CLI,
                   due_at: str | datetime | WorkingDue | None = None,
                   flow_run_id: str | None = None) -> Complaint:
    """Open a case in customer service (its members, or the process engine for the order
    follow-up): the customer's code (an unknown code opens a customer file, named
    ``customer_name``), what they complain of, the order it is about, where it came in
    (``ComplaintSource``). Its respond step goes to customer service's queue due at ``due_at``
    (the response deadline; default ``RESPONSE_DUE``, working time in the customer's branch's
    calendar). The customer file counts the open case. ``flow_run_id``: the ``complaint`` flow
    run that carries it. BadInput naming the field; NotAuthorized for a non-member."""
    code, said, number = check_opening(customer=customer, text=text, order=order)
    if source not in {s.value for s in ComplaintSource}:
        raise BadInput(on_field("source", phrase("must be one of %(choices)s, got %(got)s",
                                                 choices=", ".join(ComplaintSource),
                                                 got=repr(source))))
    if customer_name is not None:
        check_text(customer_name.strip(), field="customer_name", max_length=300)
    with uow:
        actor = actor_for(uow, actor_email)
        rule = complaint_rule("open", "", ref="a new complaint")
        authorize(actor, rule, Target(ref=phrase("a new complaint"), department=CUSTOMER_SERVICE))
        due = due_or_default(due_at, uow.now(), "due")
        cust = uow.session.exec(select(Customer).where(col(Customer.code) == code)
                                .with_for_update()).first()
        if cust is None:
            cust = Customer(code=code, name=(customer_name or "").strip() or code,
                            branch=None if actor.is_hq else actor.branch,
                            created_at=uow.now(), updated_at=uow.now())
            uow.session.add(cust)
            uow.session.flush()
        assert cust.id is not None
        case = Complaint(customer_id=cust.id, order_number=number, text=said, source=source,
                         department=CUSTOMER_SERVICE, branch=cust.branch,
                         state=rule.target, opened_by=actor.email,
                         created_at=uow.now(), updated_at=uow.now())
        uow.session.add(case)
        uow.session.flush()
        assert case.id is not None
        from mktflow.engine.processes import open_instance

        instance = open_instance(uow, process=PROCESS, business_key=complaint_ref(case.id),
                                 owner_email=actor.email, flow_run_id=flow_run_id,
                                 branch=case.branch,
                                 params={"complaint": complaint_ref(case.id),
                                         "customer": cust.code, "order": number})
        case.process_id = instance.id
        step = new_step(uow, case, StepKind.RESPOND, CUSTOMER_SERVICE, due, cust.name)
        case.respond_due = step.due_at
        cust.open_complaints += 1
        cust.updated_at = uow.now()
        uow.session.add(cust)
        uow.session.add(case)
        uow.audit(actor=actor.email, entity_type="complaint", entity_id=case.id,
                  process_id=case.process_id, action="open", to_state=case.state,
                  data={"customer": cust.code, "order": number, "source": source,
                        "step": ref(step), "due": format_time(step.due_at)})
        uow.commit()
        return case


# --- the doors' commands: each answers the case's open step --------------------------------


def _answer_step(uow: UnitOfWork, complaint_id: int, kind: StepKind, action: str, *,
                 actor_email: str, data: dict[str, Any]) -> Complaint:
    """Complete the case's open ``kind`` step as ``actor_email`` (claiming it first when it
    is in the queue), which moves the case (``follow_step``)."""
    from mktflow.engine import work

    with uow:
        case = _case(uow, complaint_id)
        step = _open_step(uow, case)
        parsed = parse_step_key(step.step_key) if step is not None else None
        if step is None or parsed is None or parsed[:2] != (kind, case.round):
            complaint_rule(action, case.state, ref=complaint_ref(case.id))  # refuses
            raise TransitionRefused(phrase(
                "cannot %(action)s %(ref)s: it has no open %(kind)s step",
                action=word(action.replace("_", " ")), ref=complaint_ref(case.id),
                kind=word(str(kind))))
        step_id, state = step.id, step.state
    assert step_id is not None
    if state == WorkState.OPEN:
        work.claim(uow, step_id, actor_email=actor_email)
    work.complete(uow, step_id, actor_email=actor_email, data=data)
    with uow:
        return _case(uow, complaint_id)


def hand_over(uow: UnitOfWork, complaint_id: int, *, actor_email: str, to: str,
              request: str, due: str | None = None) -> Complaint:
    """Customer service hands the case to ``to`` (production, supply or finance): what it
    must do and by when (``due``: working time or a time; default ``ACTING_DUE``). It answers
    the case's respond step."""
    data = {"to": to, "request": request} | ({"due": due} if due else {})
    return _answer_step(uow, complaint_id, StepKind.RESPOND, "hand_over",
                        actor_email=actor_email, data=data)


def answer(uow: UnitOfWork, complaint_id: int, *, actor_email: str, done: str) -> Complaint:
    """The acting department says what it did (its act step; the handoff is delivered)."""
    return _answer_step(uow, complaint_id, StepKind.ACT, "answer", actor_email=actor_email,
                        data={"done": done})


def customer_answer(uow: UnitOfWork, complaint_id: int, *, actor_email: str,
                    satisfied: bool, note: str = "") -> Complaint:
    """Customer service records the customer's answer: satisfied closes the case; not
    satisfied (``note`` required) reopens it and escalates it to management."""
    check_customer_answer(satisfied, note)
    return _answer_step(uow, complaint_id, StepKind.CUSTOMER,
                        "close" if satisfied else "reopen", actor_email=actor_email,
                        data={"satisfied": satisfied, "note": note})


def cancel(uow: UnitOfWork, complaint_id: int, *, actor_email: str, reason: str | None
           ) -> Complaint:
    """The head of customer service (or the head's delegate: ``Party.LEAD`` of the case's
    department) withdraws a case that is no longer a complaint, with ``reason`` (at most
    ``REASON_MAX``): its open step and its handoff are cancelled with the reason, its process
    ends (``cancelled``; a ``complaint`` flow run waiting on the case is ended after the
    commit), the customer file counts one open case fewer; audited on the case.

    Raises BadInput for no reason, TransitionRefused for a case closed or cancelled already,
    NotAuthorized for anyone else, NotFound for no such case. Seed 001, 客户服务部 工作流程
    2.(1) C (customer service leads the case)."""
    text = check_text((reason or "").strip(), field="reason", max_length=REASON_MAX,
                      multiline=True)
    with uow:
        seen = _case(uow, complaint_id)
        # the locks in the order a step's answer takes them: handoff, steps, case, customer,
        # process (``work.complete`` then ``complaint_steps.follow_step``)
        if seen.handoff_id is not None:
            uow.session.get(Handoff, seen.handoff_id, with_for_update=True)
        if seen.process_id is not None:
            list(uow.session.exec(select(WorkItem).where(
                col(WorkItem.process_id) == seen.process_id,
                col(WorkItem.state).in_(OPEN_WORK_STATES)).with_for_update()))
        case = _case(uow, complaint_id, for_update=True)
        cref = complaint_ref(case.id)
        actor = actor_for(uow, actor_email)
        rule = complaint_rule("cancel", case.state, ref=cref)
        authorize(actor, rule, complaint_target(case))
        if not text:
            raise BadInput(on_field("reason", phrase(
                "cancel needs a reason (why the complaint %(ref)s is cancelled)", ref=cref)))
        cust = uow.session.get(Customer, case.customer_id, with_for_update=True)
        assert cust is not None and case.id is not None
        instance = uow.session.get(ProcessInstance, case.process_id, with_for_update=True) \
            if case.process_id else None
        why = f"{cref} was cancelled by {actor.email}: {text}"[:REASON_MAX]
        ended = instance is not None and instance.status == ProcessStatus.RUNNING
        if instance is not None and ended:
            close(uow, instance, status=ProcessStatus.CANCELLED, actor=actor.email, reason=why,
                  result={"complaint": cref, "outcome": "cancelled", "reason": text,
                          "cancelled_by": actor.email})
        before = case.state
        case.state, case.updated_at = rule.target, uow.now()
        cust.open_complaints = max(0, cust.open_complaints - 1)
        cust.updated_at = uow.now()
        uow.session.add_all([case, cust])
        uow.audit(actor=actor.email, entity_type="complaint", entity_id=case.id,
                  process_id=case.process_id, action=rule.action, from_state=before,
                  to_state=case.state, reason=text)
        uow.commit()
    if instance is not None and ended:
        tell_run(uow, instance, why)
    with uow:
        return _case(uow, complaint_id)


# --- reads ------------------------------------------------------------------------------------


def _open_step(uow: UnitOfWork, case: Complaint) -> WorkItem | None:
    if case.process_id is None:
        return None
    return uow.session.exec(select(WorkItem).where(
        col(WorkItem.process_id) == case.process_id,
        col(WorkItem.state).in_(OPEN_WORK_STATES)).order_by(col(WorkItem.id).desc())).first()


def _kind(key: str | None) -> str:
    """The kind of a case's step (``respond``, ``act``, ``customer``), "" for other work."""
    parsed = parse_step_key(key)
    return "" if parsed is None else parsed[0].value


def complaint_view(case: Complaint, customer: Customer, step: WorkItem | None,
                   handoff: Handoff | None) -> ComplaintPublic:
    """One case: its fields, state, the open step and the handoff to the acting department."""
    assert case.id is not None
    return ComplaintPublic(
        id=case.id, ref=complaint_ref(case.id), customer=customer.code,
        customer_name=customer.name, customer_open_complaints=customer.open_complaints,
        order=case.order_number, text=case.text, source=case.source,
        department=case.department, region=case.branch, state=case.state, round=case.round,
        escalation_level=case.escalation_level, respond_due=format_time(case.respond_due),
        acting_department=case.acting_department, request=case.request,
        handoff=None if handoff is None else f"H-{handoff.id}",
        handoff_state=None if handoff is None else handoff.state,
        handoff_due=None if handoff is None else format_time(handoff.due_at),
        done=case.done, satisfied=case.satisfied, customer_note=case.customer_note,
        process=None if case.process_id is None else f"P-{case.process_id}",
        step=None if step is None else ComplaintStep(
            ref=ref(step), kind=_kind(step.step_key),
            department=step.department, state=step.state, due=format_time(step.due_at),
            escalation_level=step.escalation_level, key=step.step_key or ""),
        opened_by=case.opened_by, created_at=format_time(case.created_at),
        closed_at=format_time(case.closed_at))


def _views(uow: UnitOfWork, cases: list[Complaint], actor: Actor | None
           ) -> list[ComplaintPublic]:
    rule = read_rule(Readable.COMPLAINT)
    seen = [c for c in cases if actor is None or may_read(actor, rule, complaint_target(c))]
    customers = {c.id: c for c in uow.session.exec(select(Customer).where(
        col(Customer.id).in_({c.customer_id for c in seen})))} if seen else {}
    handoffs = {h.id: h for h in uow.session.exec(select(Handoff).where(
        col(Handoff.id).in_({c.handoff_id for c in seen if c.handoff_id})))} if seen else {}
    pids = {c.process_id for c in seen if c.process_id}
    steps: dict[int | None, WorkItem] = {}
    if pids:
        for w in uow.session.exec(select(WorkItem).where(
                col(WorkItem.process_id).in_(pids),
                col(WorkItem.state).in_(OPEN_WORK_STATES)).order_by(col(WorkItem.id))):
            steps[w.process_id] = w
    return [complaint_view(c, customers[c.customer_id], steps.get(c.process_id),
                           handoffs.get(c.handoff_id)) for c in seen]


def show_complaint(uow: UnitOfWork, reference: str | int, *, reader: str | None = None
                   ) -> ComplaintPublic:
    """One case (``C-4`` or 4) as ``complaint_view`` with ``history`` (its audit trail, its
    steps' and its handoffs'). NotFound; NotAuthorized for a reader the read table's
    ``complaint`` row does not grant (customer service, the acting department, management)."""
    number = complaint_number(reference)
    with uow:
        actor = reading_actor(uow, reader)
        case = _case(uow, number)
        if actor is not None:
            authorize_read(actor, read_rule(Readable.COMPLAINT), complaint_target(case))
        [view] = _views(uow, [case], None)
        return replace(view, history=_history(uow, case))


def _history(uow: UnitOfWork, case: Complaint) -> list[ComplaintHistoryEntry]:
    """The case's audit trail with its process's steps and handoffs, oldest first."""
    whose = [(col(AuditEntry.entity_type) == "complaint") & (col(AuditEntry.entity_id) == case.id)]
    if case.process_id is not None:
        whose.append(col(AuditEntry.entity_type).in_(("work", "handoff"))
                     & (col(AuditEntry.process_id) == case.process_id))
    prefix = {"complaint": "C", "work": "W", "handoff": "H"}
    return [ComplaintHistoryEntry(
        at=format_time(e.at), actor=e.actor, ref=f"{prefix[e.entity_type]}-{e.entity_id}",
        action=e.action, from_state=e.from_state, to_state=e.to_state, reason=e.reason)
        for e in uow.session.exec(select(AuditEntry).where(or_(*whose))
                                  .order_by(col(AuditEntry.id)))]


def list_complaints(uow: UnitOfWork, *, reader: str | None = None, customer: str | None = None,
                    state: str | None = None, limit: int = 200) -> list[ComplaintPublic]:
    """The cases ``reader`` may see (newest first, at most ``limit``), of one customer (its
    code: the customer file's complaints) or in one state if given."""
    if state is not None and state not in {s.value for s in ComplaintState}:
        raise BadInput(on_field("state", phrase("must be one of %(choices)s, got %(got)s",
                                                choices=", ".join(ComplaintState),
                                                got=repr(state))))
    with uow:
        actor = reading_actor(uow, reader)
        query = select(Complaint).order_by(col(Complaint.id).desc())
        if customer:
            cust = uow.session.exec(select(Customer.id).where(
                col(Customer.code) == customer.strip())).first()
            if cust is None:
                raise NotFound(on_field("customer", phrase(
                    "no customer file has the code %(code)s", code=repr(customer.strip()))))
            query = query.where(col(Complaint.customer_id) == cust)
        if state:
            query = query.where(col(Complaint.state) == state)
        return _views(uow, list(uow.session.exec(query)), actor)[:limit]
