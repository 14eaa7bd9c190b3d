"""A new work item or handoff written inside the caller's open unit of work, and who may hold
a step: what every command that puts work in a queue or offers it shares (``work``,
``handoffs``, and a complaint's next step, ``complaint_steps``, in the transaction of the step
that led to it). The commands that commit are ``work.create_work_item`` and ``handoffs.offer``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import Approval, Target, holder_refusal
from mktflow.domain.calendars import WorkingDue
from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.domain.inputs import check_email, check_id, normalise_email
from mktflow.domain.model import Audience, Guard, HandoffKind, HandoffState, WorkState
from mktflow.domain.words import Phrase, on_field, phrase, stored, word, words_of
from mktflow.engine import decisions, processes
from mktflow.engine.calendars import resolve_due
from mktflow.engine.common import active_member, actor_for, departments_exist, ref, target_of
from mktflow.engine.forms import check_schema
from mktflow.engine.notices import notice
from mktflow.engine.transitions import check_new
from mktflow.store.tables import Handoff, Member, ProcessInstance, WorkItem
from mktflow.store.uow import UnitOfWork

__all__ = ["create_within", "eligible", "offer_within", "process_id_for"]


def eligible(uow: UnitOfWork, item: WorkItem, email: str, action: str,
              field: str = "to") -> Member:
    """The member ``email`` names, if they may hold ``item`` (its department and branch).

    BadInput naming ``field`` for something that is not an e-mail address; NotFound for no
    active member; NotAuthorized for one who may not hold it.
    """
    member = active_member(uow.session, check_email(email, field=field))
    actor = actor_for(uow, member.email)
    target = target_of(item)
    what = ref(item) if item.id is not None else word("the new item")  # not created yet
    why = holder_refusal(actor, target, guards=(Guard.FOUR_EYES,))
    if why is None and not actor.in_department(item.department):
        why = phrase("they are in %(from)s, not %(to)s", **{"from": member.department,
                                                            "to": item.department})
    if why is None and item.branch and not actor.is_hq and member.branch != item.branch:
        why = phrase("they are in branch %(branch)s, the item belongs to branch %(own)s",
                     branch=member.branch, own=item.branch)
    why = why or holder_refusal(actor, target, guards=(Guard.APPROVER,))
    if why:
        raise NotAuthorized(phrase("cannot %(action)s %(ref)s to %(member)s: %(why)s",
                                   action=word(action), ref=what, member=member.email, why=why))
    return member


def create_within(
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
    """``create_work_item``'s checks and writes inside the caller's open unit of work, which
    commits: a command that puts the next step in a queue as part of its own change (a
    complaint handed over, ``engine.complaint_steps``) creates it in the same transaction."""
    if not title.strip():
        raise BadInput("title: must not be empty")
    if not 0 <= priority <= 100:
        raise BadInput(f"priority: must be between 0 and 100, got {priority}")
    check_schema(form_schema)
    if draft is not None and not isinstance(draft, dict):
        raise BadInput(on_field("draft", phrase("must be a JSON object, got %(got)s",
                                            got=type(draft).__name__)))
    known = departments_exist(uow, department, actor_email=actor_email)  # and who acts
    actor = actor_for(uow, actor_email)
    if process_id is not None:  # who may add work to it (issue 19)
        processes.check_attach(uow, actor, process_id)
    if not known:
        raise NotFound(on_field("department", phrase("unknown department %(code)s",
                                                     code=repr(department))))
    # no branch on the target: who may create work is not limited by branch
    check_new(actor, "create", Target(ref=phrase("work for %(department)s",
                                                             department=department),
                                     department=department))
    due_at, due_basis = resolve_due(uow, due_at, branch=branch,
                                    members=(assignee, actor.email))
    item = WorkItem(
        department=department, branch=branch, title=title.strip(), description=str(description),
        words=words_of(title=title, description=description, due_basis=due_basis),
        state=WorkState.OPEN, form_schema=form_schema, form_name=form_name,
        priority=priority, due_at=due_at, due_basis=due_basis, follow_up_at=follow_up_at,
        important=important, urgent=urgent, process_id=process_id, step_key=step_key,
        created_by=actor.email,
        excluded=[normalise_email(e) for e in excluded or []],
        draft=draft, created_at=uow.now(), updated_at=uow.now(),
        approval=None if approval is None else {
            "department": approval.department, "roles": list(approval.roles),
            "branch": approval.branch, "rule": approval.rule,
            **({"rule_words": stored(approval.rule)} if isinstance(approval.rule, Phrase)
               else {})},
    )
    if assignee:
        item.assignee_email = eligible(uow, item, assignee, "assign", "assignee").email
        item.state = WorkState.CLAIMED
    uow.session.add(item)
    uow.session.flush()
    assert item.id is not None
    uow.audit(actor=actor.email, entity_type="work", entity_id=item.id,
              process_id=process_id, action="create", to_state=item.state,
              data={"title": item.title, "department": department,
                    "assignee": item.assignee_email})
    audience = Audience.ASSIGNEE if item.assignee_email else Audience.DEPARTMENT
    if item.assignee_email or not decisions.decides_offered(
            uow, process_id=process_id, step_key=step_key, department=department):
        # a step deciding an offered handoff: the offer's notice was the department's one
        notice(uow, item, event="work.created", audiences=(audience,), actor=actor.email)
    return item


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
        raise NotFound(on_field("process", phrase(
            "no process with business key %(key)s", key=repr(business_key))))
    return process.id


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
    known = departments_exist(uow, from_department, to_department,
                              actor_email=actor_email)  # and who acts: one query
    for field, code in (("from", from_department), ("to", to_department)):
        if code not in known:
            raise NotFound(on_field(field, phrase("unknown department %(code)s", code=repr(code))))
    actor = actor_for(uow, actor_email)
    if pid is not None:  # who may add a handoff to it (issue 19)
        processes.check_attach(uow, actor, pid)
    due, due_basis = resolve_due(uow, due_at, branch=branch, members=(actor.email,))
    handoff = Handoff(
        kind=HandoffKind.RESPONSIBILITY_LETTER if letter else HandoffKind.HANDOFF,
        process_id=pid, step_key=step_key, from_department=from_department,
        to_department=to_department, branch=branch, title=title.strip(), criteria=str(criteria),
        words=words_of(title=title, criteria=criteria, due_basis=due_basis),
        deliverables=deliverables, state=HandoffState.OFFERED, due_at=due,
        due_basis=due_basis, offered_by=actor.email, created_at=uow.now(),
        updated_at=uow.now(),
    )
    rule = check_new(actor, "offer", Target(ref=phrase("a handoff from %(department)s",
                                                              department=from_department),
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
