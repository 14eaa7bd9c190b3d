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

from mktflow.domain.actors import SYSTEM, Actor, Target, authorize, authorize_read, may_read
from mktflow.domain.calendars import WorkingDue, parse_due
from mktflow.domain.complaints import (
    ACTING,
    COMPLAINT_FORMS,
    CUSTOMER_SERVICE,
    FORM_NAMES,
    RESPONSE_DUE,
    ComplaintSource,
    ComplaintState,
    StepKind,
    check_customer_answer,
    check_opening,
    complaint_ref,
    complaint_rule,
    step_key,
)
from mktflow.domain.errors import BadInput, NotFound, TransitionRefused
from mktflow.domain.inputs import REASON_MAX, check_id, check_text, due_ahead, format_time
from mktflow.domain.model import (
    HANDOFF_RULES,
    MANAGEMENT,
    OPEN_WORK_STATES,
    HandoffState,
    ProcessStatus,
    Readable,
    WorkState,
    read_rule,
    rule_for,
)
from mktflow.engine.common import actor_for, as_engine, ref
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
    "complaint_number",
    "complaint_target",
    "customer_answer",
    "follow_step",
    "hand_over",
    "list_complaints",
    "open_complaint",
    "show_complaint",
]

#: The process (and flow) name of a case.
PROCESS = "complaint"

_TITLES = {StepKind.RESPOND: "Respond to complaint {ref} ({customer}): hand it to the "
                             "department that must act",
           StepKind.ACT: "Act on complaint {ref} ({customer}) and say what was done",
           StepKind.CUSTOMER: "Ask the customer about complaint {ref} ({customer}): satisfied?"}


def complaint_number(reference: str | int) -> int:
    """The id in ``C-4`` (or ``4``); NotFound naming what was given otherwise."""
    number = ref_number(reference, "C")
    if number is None:
        raise NotFound(f"complaint: {str(reference).strip()!r} names no complaint (a "
                       "complaint is named C-<number>)")
    return check_id(number, complaint_ref(number))


def complaint_target(case: Complaint) -> Target:
    """What the rule rows need of a case: customer service owns it, the acting department
    (once handed over) receives it, and both are involved (the read table)."""
    involved = {case.department, *([case.acting_department] if case.acting_department else [])}
    return Target(ref=complaint_ref(case.id), department=case.department, branch=case.branch,
                  offering=case.department, involved=frozenset(involved))


def _case(uow: UnitOfWork, complaint_id: int, *, for_update: bool = False) -> Complaint:
    case = uow.session.get(Complaint, check_id(complaint_id, complaint_ref(complaint_id)),
                           with_for_update=for_update)
    if case is None:
        raise NotFound(f"{complaint_ref(complaint_id)} does not exist")
    return case


def _due(raw: str | datetime | WorkingDue | None, now: datetime, field: str
         ) -> datetime | WorkingDue:
    due = parse_due(raw, field=field) if isinstance(raw, str) else raw
    due = due if due is not None else parse_due(RESPONSE_DUE)
    assert due is not None
    return due_ahead(due, now, field=field)


def _new_step(uow: UnitOfWork, case: Complaint, kind: StepKind, department: str,
              due_at: datetime | WorkingDue, customer: str, note: str = "") -> WorkItem:
    """The case's next step in ``department``'s queue, inside the open transaction."""
    from mktflow.engine import work

    form = COMPLAINT_FORMS[kind]
    with as_engine(uow):
        return work.create_within(
            uow, actor_email=SYSTEM.email, department=department,
            title=_TITLES[kind].format(ref=complaint_ref(case.id), customer=customer)[:300],
            description="\n\n".join(x for x in (f"The customer said: {case.text}", note) if x),
            form_schema=form.model_json_schema(), form_name=FORM_NAMES[kind],
            due_at=due_at, process_id=case.process_id, step_key=step_key(kind, case.round),
            branch=case.branch)


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
        raise BadInput(f"source: must be one of {', '.join(ComplaintSource)}, got {source!r}")
    if customer_name is not None:
        check_text(customer_name.strip(), field="customer_name", max_length=300)
    with uow:
        actor = actor_for(uow, actor_email)
        rule = complaint_rule("open", "", ref="a new complaint")
        authorize(actor, rule, Target(ref="a new complaint", department=CUSTOMER_SERVICE))
        due = _due(due_at, uow.now(), "due")
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
        step = _new_step(uow, case, StepKind.RESPOND, CUSTOMER_SERVICE, due, cust.name)
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


# --- the steps: answered at any door, they move the case ----------------------------------


def follow_step(uow: UnitOfWork, item: WorkItem, actor: Actor, data: dict[str, Any]) -> None:
    """Move the case of ``item`` (a complaint step just completed with ``data``) and put its
    next step in a queue, inside ``work.complete``'s transaction. Raises BadInput naming the
    field, TransitionRefused for a case not in the state the step's action needs."""
    case = uow.session.exec(select(Complaint).where(
        col(Complaint.process_id) == item.process_id).with_for_update()).first()
    if case is None or item.step_key is None:
        return
    kind = StepKind(item.step_key.rsplit("-", 1)[0])
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
            raise BadInput(f"to: must be one of {', '.join(ACTING)}, got {to!r}")
        request = check_text(str(data.get("request") or "").strip(), field="request",
                             max_length=REASON_MAX, multiline=True)
        if not request:
            raise BadInput("request: say what the department must do")
        due = _due(str(data.get("due") or "") or None, uow.now(), "due")
        from mktflow.engine import handoffs

        with as_engine(uow):
            handoff = handoffs.offer_within(
                uow, actor_email=SYSTEM.email, from_department=case.department,
                to_department=to, title=f"Complaint {cref} ({cust.name}): {request}"[:300],
                due_at=due, criteria=f"The customer said: {case.text}",
                deliverables=["what was done"], process_id=case.process_id,
                step_key=f"handoff-{case.round}", branch=case.branch)
        case.acting_department, case.request, case.handoff_id = to, request, handoff.id
        assert handoff.due_at is not None
        step = _new_step(uow, case, StepKind.ACT, to, handoff.due_at, cust.name,
                         note=f"Customer service asks: {request}")
        audit |= {"to": to, "handoff": f"H-{handoff.id}", "next": ref(step),
                  "due": format_time(handoff.due_at)}
    elif kind is StepKind.ACT:
        rule = complaint_rule("answer", case.state, ref=cref)
        authorize(actor, rule, replace(complaint_target(case),
                                       department=case.acting_department or ""))
        done = str(data.get("done") or "").strip()
        if not done:
            raise BadInput("done: say what was done")
        case.done = check_text(done, field="done", max_length=REASON_MAX, multiline=True)
        _deliver(uow, case, actor, done)
        step = _new_step(uow, case, StepKind.CUSTOMER, case.department,
                         _due(None, uow.now(), "due"), cust.name,
                         note=f"{case.acting_department} did: {done}")
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
            step = _new_step(uow, case, StepKind.RESPOND, case.department,
                             _due(None, uow.now(), "due"), cust.name,
                             note=f"Reopened: the customer is not satisfied: {note}")
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
    from mktflow.engine.decisions import apply_handoff

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
    from mktflow.engine.decisions import apply_handoff
    from mktflow.engine.processes import close

    handoff = uow.session.get(Handoff, case.handoff_id, with_for_update=True) \
        if case.handoff_id else None
    if handoff is not None and handoff.state == HandoffState.DELIVERED:
        apply_handoff(uow, handoff, "confirm", actor,
                      rule_for(HANDOFF_RULES, f"handoff H-{handoff.id}", "confirm",
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
    from mktflow.engine.notices import Recipient, notice_recipients

    notice_recipients(uow, step, event="complaint.reopened",
                      recipients=[Recipient(MANAGEMENT)], actor=actor.email,
                      reason=f"{complaint_ref(case.id)}: the customer is not satisfied "
                             f"(escalation level {case.escalation_level}): {note}")


# --- the doors' commands: each answers the case's open step --------------------------------


def _answer_step(uow: UnitOfWork, complaint_id: int, kind: StepKind, action: str, *,
                 actor_email: str, data: dict[str, Any]) -> Complaint:
    """Complete the case's open ``kind`` step as ``actor_email`` (claiming it first when it
    is in the queue), which moves the case (``follow_step``)."""
    from mktflow.engine import work

    with uow:
        case = _case(uow, complaint_id)
        step = _open_step(uow, case)
        if step is None or step.step_key != step_key(kind, case.round):
            complaint_rule(action, case.state, ref=complaint_ref(case.id))  # refuses
            raise TransitionRefused(f"cannot {action.replace('_', ' ')} "
                                    f"{complaint_ref(case.id)}: it has no open {kind} step")
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


# --- reads ------------------------------------------------------------------------------------


def _open_step(uow: UnitOfWork, case: Complaint) -> WorkItem | None:
    if case.process_id is None:
        return None
    return uow.session.exec(select(WorkItem).where(
        col(WorkItem.process_id) == case.process_id,
        col(WorkItem.state).in_(OPEN_WORK_STATES)).order_by(col(WorkItem.id).desc())).first()


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
            ref=ref(step), kind=(step.step_key or "").rsplit("-", 1)[0],
            department=step.department, state=step.state, due=format_time(step.due_at),
            escalation_level=step.escalation_level),
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
        raise BadInput(f"state: must be one of {', '.join(ComplaintState)}, got {state!r}")
    with uow:
        actor = reading_actor(uow, reader)
        query = select(Complaint).order_by(col(Complaint.id).desc())
        if customer:
            cust = uow.session.exec(select(Customer.id).where(
                col(Customer.code) == customer.strip())).first()
            if cust is None:
                raise NotFound(f"customer: no customer file has the code {customer.strip()!r}")
            query = query.where(col(Complaint.customer_id) == cust)
        if state:
            query = query.where(col(Complaint.state) == state)
        return _views(uow, list(uow.session.exec(query)), actor)[:limit]
