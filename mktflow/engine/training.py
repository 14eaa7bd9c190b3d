"""Training from appraisal (issue 23, item 4): the needs a period's appraisals create, each
department's training plan (prepared in a step, approved by the head), the attendance each
session's owner records, and what the next appraisal shows of it.

Source: seed 001, 团队建设规范 5.1 (regular training of the team), 团队建设 2 (a training
plan), 绩效评估 3 (those who fall short are trained); seed 003 §1(1). The rules are pure, in
``mktflow.domain.training``.

The training cycle (``flows/training.py``) raises the needs and opens the plan steps; the
steps are answered at any door (``mktflow work complete``, the API, the pages) and ``settle``
moves each plan on at once (``engine.steps.complete_step``, every door's ``complete``, calls
it after a training step's answer commits): a submitted plan goes to the head, an approved
one puts an attendance step in each session's owner's hands, attendance is written on its
session. ``settle`` is
idempotent: the cycle's next run calls it too, so nothing is lost if a door's call failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM, Target, authorize_read, may_read
from mktflow.domain.cycles import Frequency, period_bounds
from mktflow.domain.errors import NotFound
from mktflow.domain.inputs import format_time, normalise_email
from mktflow.domain.model import Readable, WorkState, read_rule
from mktflow.domain.training import (
    ATTENDANCE_FORM,
    ATTENDANCE_FORM_NAME,
    PLAN_APPROVAL_FORM,
    PLAN_APPROVAL_FORM_NAME,
    PLAN_FORM,
    PLAN_FORM_NAME,
    attainment_change,
    counts_since,
    training_need,
)
from mktflow.domain.words import joined, on_field, phrase, word
from mktflow.engine.common import as_engine, find_member
from mktflow.engine.cycles import cycle_spec
from mktflow.engine.notices import head_of
from mktflow.engine.views import (
    AppraisalTrainingPublic,
    MemberTrainingPublic,
    TrainingNeedPublic,
    TrainingPlanPublic,
    TrainingSessionPublic,
)
from mktflow.engine.visibility import reading_actor
from mktflow.store.tables import (
    Appraisal,
    CycleRun,
    Member,
    TrainingNeed,
    TrainingPlan,
    TrainingSession,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "attended_since",
    "list_needs",
    "list_plans",
    "member_training",
    "open_plans",
    "raise_needs",
    "settle",
]

CYCLE = "training"


def _run(uow: UnitOfWork, run_id: int) -> CycleRun:
    run = uow.session.get(CycleRun, run_id)
    if run is None:
        raise NotFound(f"cycle run {run_id} does not exist")
    return run


def _step_ref(item_id: int | None) -> str | None:
    return None if item_id is None else f"W-{item_id}"


def _step(uow: UnitOfWork, *, process_id: int | None, department: str, key: str, title: str,
          form: dict[str, Any], form_name: str, assignee: str | None, description: str = "",
          excluded: list[str] | None = None, draft: dict[str, Any] | None = None) -> WorkItem:
    """One training step (idempotent by its key within the cycle run's process)."""
    from mktflow.engine import work

    with as_engine(uow):
        return work.create_work_item(
            uow, actor_email=SYSTEM.email, department=department, title=title,
            form_schema=form, form_name=form_name, description=description,
            assignee=assignee, process_id=process_id, step_key=key, excluded=excluded,
            draft=draft)


# --- the cycle's run -----------------------------------------------------------------------


def _signed_result(uow: UnitOfWork, appraisal: Appraisal) -> str | None:
    """The result the head signed: recorded on the appraisal, or in its done sign step."""
    if appraisal.result:
        return appraisal.result
    item = uow.session.get(WorkItem, appraisal.work_item_id) if appraisal.work_item_id else None
    if item is not None and item.state == WorkState.DONE:
        return str((item.data or {}).get("result") or "") or None
    return None


def raise_needs(uow: UnitOfWork, *, run_id: int) -> list[dict[str, Any]]:
    """A training need for every member whose appraisal of the run's period falls short
    (``domain.training.training_need``), once per appraisal; returns every need of the
    period: member, department, topics, attainment."""
    with uow:
        run = _run(uow, run_id)
        appraisals = uow.session.exec(select(Appraisal).where(
            col(Appraisal.period) == run.period, col(Appraisal.subject_type) == "member")
            .order_by(col(Appraisal.id))).all()
        have = set(uow.session.exec(select(TrainingNeed.appraisal_id).where(
            col(TrainingNeed.period) == run.period)))
        for a in appraisals:
            topics = training_need(a.kpis, _signed_result(uow, a))
            if topics is None or a.id in have:
                continue
            assert a.id is not None
            member = find_member(uow.session, a.subject)
            need = TrainingNeed(appraisal_id=a.id, period=a.period, member_email=a.subject,
                                department=a.department, topics=list(topics),
                                branch=member.branch if member else None,
                                attainment=a.attainment, created_at=uow.now())
            uow.session.add(need)
            uow.session.flush()
            assert need.id is not None
            uow.audit(actor=SYSTEM.email, entity_type="training-need", entity_id=need.id,
                      process_id=run.process_id, action="raise",
                      data={"member": a.subject, "topics": list(topics)})
        uow.commit()
        needs = uow.session.exec(select(TrainingNeed).where(
            col(TrainingNeed.period) == run.period).order_by(col(TrainingNeed.id))).all()
        return [{"member": n.member_email, "department": n.department,
                 "topics": ", ".join(n.topics), "attainment": n.attainment} for n in needs]


def _prepare(uow: UnitOfWork, plan: TrainingPlan, *, process_id: int | None,
             draft: dict[str, Any] | None = None) -> WorkItem:
    """The step that prepares ``plan`` (the ``returns``-th time), in its department's queue."""
    with uow:
        needs = uow.session.exec(select(TrainingNeed).where(
            col(TrainingNeed.period) == plan.period,
            col(TrainingNeed.department) == plan.department)).all()
    listed = "; ".join(f"{n.member_email}: {', '.join(n.topics)}" for n in needs)
    return _step(uow, process_id=process_id, department=plan.department,
                 key=f"training/plan/{plan.department}/{plan.returns}",
                 title=phrase("Training plan %(period)s for %(department)s",
                              period=plan.period, department=plan.department),
                 form=PLAN_FORM, form_name=PLAN_FORM_NAME, assignee=None, draft=draft,
                 description=phrase("List the sessions (topic, participants, owner, first and "
                                    "last day) for the needs of the appraisal: %(needs)s.",
                                    needs=listed or word("none")))


def open_plans(uow: UnitOfWork, *, run_id: int) -> list[dict[str, Any]]:
    """A plan (and its step) for every department with needs in the run's period, once per
    department; returns every plan of the period with its status and step."""
    with uow:
        run = _run(uow, run_id)
        process_id, period = run.process_id, run.period
        departments = sorted(set(uow.session.exec(select(TrainingNeed.department).where(
            col(TrainingNeed.period) == period))))
        plans = {p.department: p for p in uow.session.exec(select(TrainingPlan).where(
            col(TrainingPlan.period) == period))}
        for d in departments:
            if d not in plans:
                plans[d] = TrainingPlan(period=period, department=d, created_at=uow.now())
                uow.session.add(plans[d])
        uow.commit()
        fresh = [p for p in plans.values() if p.prepare_item_id is None]
    for plan in fresh:
        item = _prepare(uow, plan, process_id=process_id)
        with uow:
            row = uow.session.get(TrainingPlan, plan.id)
            assert row is not None
            row.prepare_item_id = item.id
            uow.session.add(row)
            uow.commit()
    return [plan_row(p) for p in list_plans(uow, period=period)]


def plan_row(plan: TrainingPlanPublic) -> dict[str, Any]:
    """A plan as one row of the cycle's report."""
    return {"department": plan.department, "status": plan.status,
            "sessions": len(plan.sessions), "step": plan.approval_step or plan.prepare_step,
            "attendance_recorded": sum(1 for s in plan.sessions if s.attended is not None)}


# --- moving the plans on -------------------------------------------------------------------


def _done(uow: UnitOfWork, item_id: int | None) -> WorkItem | None:
    item = uow.session.get(WorkItem, item_id) if item_id is not None else None
    return item if item is not None and item.state == WorkState.DONE else None


def _submitted(uow: UnitOfWork, plan_id: int) -> tuple[TrainingPlan, str] | None:
    """Write a prepared plan's sessions; the plan and who prepared it (None: not done yet)."""
    with uow:
        plan = uow.session.get(TrainingPlan, plan_id, with_for_update=True)
        item = _done(uow, plan.prepare_item_id) if plan else None
        if plan is None or item is None or plan.status != "preparing":
            return None
        for s in (item.data or {}).get("sessions", []):
            uow.session.add(TrainingSession(
                plan_id=plan_id, topic=str(s["topic"]).strip(),
                owner_email=normalise_email(s["owner"]),
                participants=[normalise_email(p) for p in s["participants"]],
                starts_on=date.fromisoformat(s["starts_on"]),
                ends_on=date.fromisoformat(s["ends_on"]), created_at=uow.now()))
        plan.status, plan.prepared_by = "submitted", item.completed_by
        uow.session.add(plan)
        uow.audit(actor=item.completed_by or SYSTEM.email, entity_type="training-plan",
                  entity_id=plan_id, process_id=item.process_id, action="submit",
                  from_state="preparing", to_state="submitted")
        uow.commit()
        return plan, item.completed_by or ""


def _decided(uow: UnitOfWork, plan_id: int) -> tuple[TrainingPlan, str, int | None] | None:
    """Apply the head's decision on a submitted plan (None: not decided yet)."""
    with uow:
        plan = uow.session.get(TrainingPlan, plan_id, with_for_update=True)
        item = _done(uow, plan.approval_item_id) if plan else None
        if plan is None or item is None or plan.status != "submitted":
            return None
        decision = str((item.data or {}).get("decision"))
        plan.note = str((item.data or {}).get("note", ""))
        if decision == "approve":
            plan.status, plan.approved_by, plan.approved_at = \
                "approved", item.completed_by, uow.now()
        else:  # returned: prepared again, the sessions as the new step's draft
            plan.status, plan.returns = "preparing", plan.returns + 1
            plan.prepare_item_id = plan.approval_item_id = None
            for s in uow.session.exec(select(TrainingSession).where(
                    col(TrainingSession.plan_id) == plan_id)):
                uow.session.delete(s)
        uow.session.add(plan)
        uow.audit(actor=item.completed_by or SYSTEM.email, entity_type="training-plan",
                  entity_id=plan_id, process_id=item.process_id,
                  action="approve" if decision == "approve" else "return",
                  from_state="submitted", to_state=plan.status, reason=plan.note or None)
        uow.commit()
        return plan, decision, item.process_id


def settle(uow: UnitOfWork) -> dict[str, int]:
    """Move every plan on from the steps answered: a prepared plan's sessions are written and
    go to the head to approve (four eyes: not whoever prepared it); a returned plan gets a new
    plan step (its sessions as the draft); an approved plan's sessions each put an attendance
    step in their owner's hands; recorded attendance is written on its session. Idempotent.
    Returns how many plans were submitted, decided and sessions recorded."""
    counts = {"submitted": 0, "decided": 0, "recorded": 0}
    with uow:
        pending = [(p.id, p.status) for p in uow.session.exec(select(TrainingPlan).where(
            col(TrainingPlan.status).in_(["preparing", "submitted"])))]
    for plan_id, status in pending:
        assert plan_id is not None
        if status == "preparing" and (done := _submitted(uow, plan_id)) is not None:
            counts["submitted"] += 1
            _ask_head(uow, *done)
        decided = _decided(uow, plan_id)
        if decided is not None:
            counts["decided"] += 1
            plan, decision, process_id = decided
            if decision == "approve":
                _open_attendance(uow, plan, process_id)
            else:
                item = _prepare(uow, plan, process_id=process_id,
                                draft=_last_sessions(uow, plan))
                _set(uow, plan_id, prepare_item_id=item.id)
    with uow:  # approved plans whose attendance steps are missing (a failed door's call)
        approved = list(uow.session.exec(select(TrainingPlan).where(
            col(TrainingPlan.status) == "approved", col(TrainingPlan.id).in_(
                select(TrainingSession.plan_id).where(
                    col(TrainingSession.attendance_item_id).is_(None))))))
    for plan in approved:
        with uow:
            process = uow.session.get(WorkItem, plan.approval_item_id)
            process_id = process.process_id if process else None
        _open_attendance(uow, plan, process_id)
    counts["recorded"] = _record_attendance(uow)
    return counts


def _set(uow: UnitOfWork, plan_id: int, **fields: Any) -> None:
    with uow:
        plan = uow.session.get(TrainingPlan, plan_id)
        assert plan is not None
        for k, v in fields.items():
            setattr(plan, k, v)
        uow.session.add(plan)
        uow.commit()


def _last_sessions(uow: UnitOfWork, plan: TrainingPlan) -> dict[str, Any]:
    """The sessions of the plan's returned step, for the new step's draft."""
    with uow:
        item = uow.session.exec(select(WorkItem).where(
            col(WorkItem.step_key) == f"training/plan/{plan.department}/{plan.returns - 1}",
            col(WorkItem.title).endswith(f"{plan.period} for {plan.department}"))
            .order_by(col(WorkItem.id).desc())).first()
        return {"sessions": (item.data or {}).get("sessions", [])} if item else {}


def _ask_head(uow: UnitOfWork, plan: TrainingPlan, prepared_by: str) -> None:
    with uow:
        head = head_of(uow, plan.department)
        sessions = uow.session.exec(select(TrainingSession).where(
            col(TrainingSession.plan_id) == plan.id)).all()
        item = uow.session.get(WorkItem, plan.prepare_item_id)
        process_id = item.process_id if item else None
    listed = joined([phrase("%(topic)s (%(starts)s..%(ends)s, %(n)s participant(s), owner "
                            "%(member)s)", topic=s.topic, starts=s.starts_on, ends=s.ends_on,
                            n=len(s.participants), member=s.owner_email) for s in sessions])
    step = _step(uow, process_id=process_id, department=plan.department,
                 key=f"training/approve/{plan.department}/{plan.returns}",
                 title=phrase("Approve the training plan %(period)s for %(department)s",
                              period=plan.period, department=plan.department),
                 form=PLAN_APPROVAL_FORM, form_name=PLAN_APPROVAL_FORM_NAME,
                 assignee=head if head != prepared_by else None,
                 excluded=[prepared_by] if prepared_by else None,
                 description=listed or phrase("No sessions: no training this period."))
    assert plan.id is not None
    _set(uow, plan.id, approval_item_id=step.id)


def _open_attendance(uow: UnitOfWork, plan: TrainingPlan, process_id: int | None) -> None:
    """An attendance step in each session's owner's hands (the owner's department)."""
    with uow:
        sessions = [(s.id, s.topic, s.owner_email, list(s.participants), s.ends_on)
                    for s in uow.session.exec(select(TrainingSession).where(
                        col(TrainingSession.plan_id) == plan.id,
                        col(TrainingSession.attendance_item_id).is_(None)))]
        owners = {e: find_member(uow.session, e) for _, _, e, _, _ in sessions}
    for session_id, topic, owner, participants, ends_on in sessions:
        member = owners[owner]
        form = {**ATTENDANCE_FORM, "properties": {
            **ATTENDANCE_FORM["properties"],
            "attended": {"type": "array", "uniqueItems": True,
                         "items": {"enum": participants}}}}
        item = _step(uow, process_id=process_id,
                     department=member.department if member else plan.department,
                     key=f"training/attend/{session_id}", form=form,
                     form_name=ATTENDANCE_FORM_NAME,
                     assignee=owner if member is not None and member.active else None,
                     title=phrase("Record attendance: %(topic)s (ends %(ends)s)", topic=topic,
                                  ends=ends_on),
                     description=phrase("Who of the participants attended: %(participants)s",
                                        participants=", ".join(participants)))
        with uow:
            row = uow.session.get(TrainingSession, session_id)
            assert row is not None
            row.attendance_item_id = item.id
            uow.session.add(row)
            uow.commit()


def _record_attendance(uow: UnitOfWork) -> int:
    with uow:
        count = 0
        rows = uow.session.exec(select(TrainingSession, WorkItem).join(
            WorkItem, col(WorkItem.id) == col(TrainingSession.attendance_item_id)).where(
            col(TrainingSession.recorded_at).is_(None), col(WorkItem.state) == WorkState.DONE))
        for session, item in rows:
            assert session.id is not None
            session.attended = [normalise_email(e) for e in (item.data or {}).get("attended", [])]
            session.recorded_by, session.recorded_at = item.completed_by, uow.now()
            uow.session.add(session)
            uow.audit(actor=item.completed_by or SYSTEM.email, entity_type="training-session",
                      entity_id=session.id, process_id=item.process_id, action="attend",
                      data={"attended": session.attended})
            count += 1
        uow.commit()
        return count


# --- reads -----------------------------------------------------------------------------------


def _session_view(s: TrainingSession) -> TrainingSessionPublic:
    assert s.id is not None
    return TrainingSessionPublic(
        id=s.id, topic=s.topic, owner=s.owner_email, participants=list(s.participants),
        starts_on=s.starts_on.isoformat(), ends_on=s.ends_on.isoformat(),
        attended=None if s.attended is None else list(s.attended),
        attendance_step=_step_ref(s.attendance_item_id))


def _need_target(n: TrainingNeed) -> Target:
    return Target(ref=phrase("the training needs of %(member)s", member=n.member_email),
                  department=n.department, branch=n.branch, assignee=n.member_email)


def list_plans(uow: UnitOfWork, *, reader: str | None = None, period: str | None = None,
               department: str | None = None) -> list[TrainingPlanPublic]:
    """The training plans ``reader`` may see (a department's plan is its members' and
    management's, as its queue is), newest period first, with their sessions."""
    with uow:
        actor = reading_actor(uow, reader)
        query = select(TrainingPlan).order_by(col(TrainingPlan.period).desc(),
                                              col(TrainingPlan.department))
        if period:
            query = query.where(col(TrainingPlan.period) == period)
        if department:
            query = query.where(col(TrainingPlan.department) == department)
        rule = read_rule(Readable.QUEUE)
        plans = [p for p in uow.session.exec(query) if actor is None or may_read(
            actor, rule, Target(ref=phrase("the %(department)s training plan",
                                               department=p.department),
                                department=p.department))]
        sessions: dict[int, list[TrainingSession]] = {}
        for s in uow.session.exec(select(TrainingSession).where(
                col(TrainingSession.plan_id).in_([p.id for p in plans]))
                .order_by(col(TrainingSession.starts_on), col(TrainingSession.id))):
            sessions.setdefault(s.plan_id, []).append(s)
        out = []
        for p in plans:
            assert p.id is not None
            out.append(TrainingPlanPublic(
                id=p.id, period=p.period, department=p.department, status=p.status,
                prepare_step=_step_ref(p.prepare_item_id),
                approval_step=_step_ref(p.approval_item_id), prepared_by=p.prepared_by,
                approved_by=p.approved_by, approved_at=format_time(p.approved_at),
                returns=p.returns, sessions=[_session_view(s) for s in sessions.get(p.id, [])]))
        return out


def _covered(uow: UnitOfWork, needs: Iterable[TrainingNeed]) -> set[tuple[str, str]]:
    """(period, member) pairs an approved plan's session names as a participant."""
    rows = uow.session.exec(select(TrainingPlan.period, TrainingSession.participants).join(
        TrainingSession, col(TrainingSession.plan_id) == col(TrainingPlan.id)).where(
        col(TrainingPlan.status) == "approved",
        col(TrainingPlan.period).in_(sorted({n.period for n in needs}))))
    return {(period, e) for period, people in rows for e in people}


def _need_views(uow: UnitOfWork, needs: list[TrainingNeed]) -> list[TrainingNeedPublic]:
    covered = _covered(uow, needs)
    out = []
    for n in needs:
        assert n.id is not None
        out.append(TrainingNeedPublic(
            id=n.id, period=n.period, member=n.member_email, department=n.department,
            topics=list(n.topics), attainment=n.attainment,
            covered=(n.period, n.member_email) in covered))
    return out


def list_needs(uow: UnitOfWork, *, reader: str | None = None, period: str | None = None,
               department: str | None = None, member: str | None = None
               ) -> list[TrainingNeedPublic]:
    """The training needs ``reader`` may see (read table row ``training``: the member, their
    head, management), newest period first."""
    with uow:
        actor = reading_actor(uow, reader)
        query = select(TrainingNeed).order_by(col(TrainingNeed.period).desc(),
                                              col(TrainingNeed.id))
        if period:
            query = query.where(col(TrainingNeed.period) == period)
        if department:
            query = query.where(col(TrainingNeed.department) == department)
        if member:
            query = query.where(col(TrainingNeed.member_email) == normalise_email(member))
        rule = read_rule(Readable.TRAINING)
        needs = [n for n in uow.session.exec(query)
                 if actor is None or may_read(actor, rule, _need_target(n))]
        return _need_views(uow, needs)


def _frequency(uow: UnitOfWork) -> Frequency:
    return cycle_spec("performance-appraisal", uow.settings).frequency


def attended_since(uow: UnitOfWork, email: str, period: str) -> tuple[
        list[TrainingSessionPublic], float | None]:
    """Inside an open unit of work: the sessions ``email`` attended since their appraisal
    before ``period`` (all earlier ones without one) up to the end of ``period``, and that
    previous appraisal's attainment (None without one)."""
    frequency = _frequency(uow)
    previous = uow.session.exec(select(Appraisal).where(
        col(Appraisal.subject_type) == "member", col(Appraisal.subject) == email,
        col(Appraisal.period) < period).order_by(col(Appraisal.period).desc())).first()
    previous_end = period_bounds(previous.period, frequency)[1] if previous else None
    end = period_bounds(period, frequency)[1]
    sessions = uow.session.exec(select(TrainingSession).where(
        col(TrainingSession.recorded_at).is_not(None)).order_by(col(TrainingSession.ends_on)))
    attended = [_session_view(s) for s in sessions if email in (s.attended or [])
                and counts_since(s.ends_on, previous_end=previous_end, end=end)]
    return attended, previous.attainment if previous else None


def member_training(uow: UnitOfWork, email: str, *, reader: str | None = None
                    ) -> MemberTrainingPublic:
    """A member's appraisals (newest first), each with the training attended since the one
    before and the change of attainment, and their training needs. NotFound for no member;
    NotAuthorized for a reader the read table's ``training`` row does not grant."""
    email = normalise_email(email)
    with uow:
        actor = reading_actor(uow, reader)
        member = uow.session.exec(select(Member).where(col(Member.email) == email)).first()
        if member is None:
            raise NotFound(on_field("member", phrase("%(given)s is not a member",
                                                      given=repr(email))))
        if actor is not None:
            authorize_read(actor, read_rule(Readable.TRAINING), Target(
                ref=f"the training of {email}", department=member.department,
                branch=member.branch, assignee=email))
        appraisals = uow.session.exec(select(Appraisal).where(
            col(Appraisal.subject_type) == "member", col(Appraisal.subject) == email)
            .order_by(col(Appraisal.period).desc())).all()
        shown = []
        for a in appraisals:
            attended, before = attended_since(uow, email, a.period)
            shown.append(AppraisalTrainingPublic(
                period=a.period, attainment=a.attainment, result=_signed_result(uow, a),
                attainment_change=attainment_change(before, a.attainment), training=attended))
        needs = uow.session.exec(select(TrainingNeed).where(
            col(TrainingNeed.member_email) == email)
            .order_by(col(TrainingNeed.period).desc())).all()
        return MemberTrainingPublic(member=email, department=member.department,
                                    appraisals=shown, needs=_need_views(uow, list(needs)))


