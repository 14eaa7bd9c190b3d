"""Command handlers and reads of the planning meetings: open a period's meeting, its agenda
pre-filled, the minutes recorded, the head's approval, the minutes sent and each decision made
work; who may read a meeting's minutes.

Source: seed 001, 市场部管理制度 五、工作流程 1.(1) A (a marketing meeting fixes the annual and
quarterly work plan; its minutes go to the company's leaders and the departments concerned);
the rules are ``mktflow.domain.meetings``. Who may read minutes is the read table's ``minutes``
row: marketing, management and the departments the minutes name.

The flow (``flows/meetings.py``) puts three steps in people's hands, each answered at any door
(``mktflow work complete``, ``POST /work/{item}/complete``, the step's page, and the Prefect UI
for the agenda and the minutes, which decide nothing): the agenda (the marketing head's,
``MeetingAgenda``), the minutes (marketing's, ``MeetingMinutes``: held on, attendees, summary,
decisions) and the head's approval (``MinutesApproval``: approve or revise). Approved minutes
are sent: each department they go to gets an item to read (told through the outbox), and each
decision becomes work: a work item in its owner's hands when the owner is in marketing, else a
handoff from marketing to the owner's department, due at the end of the decision's due day.
A decision's state is its work's (``domain.meetings.decision_state``).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM, Target, authorize_read, may_read
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import check_id, format_time, normalise_email
from mktflow.domain.meetings import (
    MARKETING,
    DecisionState,
    MeetingKind,
    MeetingState,
    decision_state,
    decisions_of,
    meeting_kind,
    meeting_name,
    meeting_ref,
    recipients,
)
from mktflow.domain.model import Readable, WorkState, read_rule
from mktflow.domain.words import joined, on_field, phrase, word
from mktflow.engine.answers import minutes_check
from mktflow.engine.common import as_engine, find_member, ref
from mktflow.engine.notices import head_of
from mktflow.engine.refs import ref_number
from mktflow.engine.views import MeetingDecisionPublic, MeetingPublic
from mktflow.engine.visibility import reading_actor
from mktflow.store.tables import (
    CycleRun,
    Handoff,
    Meeting,
    MeetingDecision,
    Plan,
    WorkItem,
)
from mktflow.store.uow import UnitOfWork

__all__ = [
    "READ_FORM",
    "agenda_draft",
    "list_meetings",
    "marketing_head",
    "meeting_number",
    "open_decisions",
    "open_meeting",
    "record_agenda",
    "record_approval",
    "record_minutes",
    "send_minutes",
    "show_meeting",
]

#: A meeting's states as a refusal names them (worded where shown).
_STATE_WORDS = {"agenda": word("agenda"), "minutes": word("minutes"),
                "approval": word("approval"), "sent": word("sent")}

#: The form of the item each department the minutes are sent to reads.
READ_FORM: dict[str, Any] = {"type": "object", "properties": {
    "acknowledged": {"type": "boolean"}, "comment": {"type": "string", "maxLength": 2000}}}


def meeting_number(reference: str | int) -> int:
    """The id in ``M-3`` (or ``3``); NotFound naming what was given otherwise."""
    number = ref_number(reference, "M")
    if number is None:
        raise NotFound(on_field("meeting", phrase(
            "%(given)s names no meeting (a meeting is named M-<number>)",
            given=repr(str(reference).strip()))))
    return check_id(number, meeting_ref(number))


def _meeting(uow: UnitOfWork, meeting_id: int, *, for_update: bool = False) -> Meeting:
    row = uow.session.get(Meeting, meeting_id, with_for_update=for_update)
    if row is None:
        raise NotFound(phrase("%(ref)s does not exist", ref=meeting_ref(meeting_id)))
    return row


def _decisions(uow: UnitOfWork, meeting_id: int) -> list[MeetingDecision]:
    return list(uow.session.exec(select(MeetingDecision).where(
        col(MeetingDecision.meeting_id) == meeting_id).order_by(col(MeetingDecision.number))))


def _decision_view(uow: UnitOfWork, d: MeetingDecision) -> MeetingDecisionPublic:
    work, state = None, DecisionState.DRAFT
    if d.work_item_id is not None:
        item = uow.session.get(WorkItem, d.work_item_id)
        work = f"W-{d.work_item_id}"
        state = decision_state("work", item.state) if item else DecisionState.DRAFT
    elif d.handoff_id is not None:
        handoff = uow.session.get(Handoff, d.handoff_id)
        work = f"H-{d.handoff_id}"
        state = decision_state("handoff", handoff.state) if handoff else DecisionState.DRAFT
    return MeetingDecisionPublic(
        number=d.number, text=d.text, owner=d.owner_email, owner_department=d.owner_department,
        due=d.due_on.isoformat(), departments=list(d.departments), work=work,
        state=state.value)


def _view(uow: UnitOfWork, m: Meeting) -> MeetingPublic:
    assert m.id is not None
    decisions = [_decision_view(uow, d) for d in _decisions(uow, m.id)]
    return MeetingPublic(
        id=m.id, ref=meeting_ref(m.id), kind=m.kind, period=m.period, state=m.state,
        process=None if m.process_id is None else f"P-{m.process_id}", agenda=m.agenda,
        held_on=m.held_on.isoformat() if m.held_on else None, attendees=m.attendees,
        summary=m.summary, minutes_by=m.minutes_by, approved_by=m.approved_by,
        approved_at=format_time(m.approved_at), sent_to=list(m.sent_to),
        sent_at=format_time(m.sent_at), decisions=decisions,
        done=sum(d.state == DecisionState.DONE for d in decisions))


def _target(uow: UnitOfWork, m: Meeting) -> Target:
    named = {d for x in _decisions(uow, m.id or 0) for d in x.departments}
    return Target(ref=meeting_ref(m.id), department=MARKETING,
                  involved=frozenset({MARKETING, *m.sent_to, *named}))


def show_meeting(uow: UnitOfWork, reference: str | int, *, reader: str | None = None
                 ) -> MeetingPublic:
    """One meeting (``M-3`` or 3) with its agenda, minutes and each decision's state.
    NotFound; NotAuthorized for a reader the read table's ``minutes`` row does not grant
    (marketing, management, the departments the minutes name)."""
    meeting_id = meeting_number(reference)
    with uow:
        actor = reading_actor(uow, reader)
        m = _meeting(uow, meeting_id)
        if actor is not None:
            authorize_read(actor, read_rule(Readable.MINUTES), _target(uow, m))
        return _view(uow, m)


def list_meetings(uow: UnitOfWork, *, reader: str | None = None, kind: str | None = None,
                  limit: int = 100) -> list[MeetingPublic]:
    """The meetings ``reader`` may see, newest period first (at most ``limit``); of one
    ``kind`` (quarterly, annual). BadInput for an unknown kind."""
    if kind is not None and kind not in {k.value for k in MeetingKind}:
        raise BadInput(on_field("kind", phrase("a meeting is quarterly or annual, not %(given)s",
                                               given=repr(kind))))
    with uow:
        actor = reading_actor(uow, reader)
        query = select(Meeting).order_by(col(Meeting.period).desc(), col(Meeting.id).desc())
        if kind:
            query = query.where(col(Meeting.kind) == kind)
        rule = read_rule(Readable.MINUTES)
        rows = [m for m in uow.session.exec(query)
                if actor is None or may_read(actor, rule, _target(uow, m))]
        return [_view(uow, m) for m in rows[:limit]]


# --- the flow's steps ---------------------------------------------------------------------


def open_decisions(uow: UnitOfWork, *, before: str | None = None) -> list[dict[str, Any]]:
    """Decisions of sent minutes whose work is not done nor dropped (of meetings for periods
    before ``before`` when given): meeting, number, text, owner, due, work, state."""
    with uow:
        query = select(Meeting).where(col(Meeting.state) == MeetingState.SENT).order_by(
            col(Meeting.period))
        out = []
        for m in uow.session.exec(query):
            if before is not None and m.period >= before:
                continue
            for d in _decisions(uow, m.id or 0):
                view = _decision_view(uow, d)
                if view.state in (DecisionState.OPEN, DecisionState.IN_HAND):
                    out.append({"meeting": meeting_ref(m.id), "period": m.period,
                                "number": d.number, "text": d.text, "owner": d.owner_email,
                                "due": view.due, "work": view.work, "state": view.state})
        return out


def _plan_items(uow: UnitOfWork, period: str, kind: MeetingKind) -> list[str]:
    """The plan items of the period: plans of the period (and of its year for a quarter), and
    the items departments handed in to annual planning for the year."""
    year = period[:4]
    plans = uow.session.exec(select(Plan).order_by(col(Plan.period), col(Plan.code))).all()
    lines = [f"{p.code}: {p.title} ({p.department}, {p.period})" for p in plans
             if p.period in (period, year) or (kind is MeetingKind.ANNUAL
                                                 and p.period.startswith(f"{year}-"))]
    run = uow.session.exec(select(CycleRun).where(col(CycleRun.cycle) == "annual-planning",
                                                  col(CycleRun.period) == year)).first()
    if run is not None and run.process_id is not None:
        for item in uow.session.exec(select(WorkItem).where(
                col(WorkItem.process_id) == run.process_id,
                col(WorkItem.state) == WorkState.DONE,
                col(WorkItem.step_key).startswith("plan/")).order_by(col(WorkItem.id))):
            for entry in (item.data or {}).get("items", []):
                if isinstance(entry, dict) and entry.get("title"):
                    owner = f", {entry['owner']}" if entry.get("owner") else ""
                    lines.append(f"{entry['title']} ({item.department}{owner})")
    return lines


def agenda_draft(uow: UnitOfWork, period: str) -> str:
    """The agenda the head starts from: the period's plan items and the open decisions of
    earlier meetings (markdown)."""
    kind = meeting_kind(period)
    with uow:
        items = _plan_items(uow, period, kind)
    issues = open_decisions(uow, before=period)
    what = "quarter" if kind is MeetingKind.QUARTERLY else "year"
    return "\n".join([
        f"1. The work plan of the {what} {period}:",
        *([f"   - {line}" for line in items] or ["   - (no plan items recorded)"]),
        "2. Open decisions of earlier meetings:",
        *([f"   - {i['meeting']} #{i['number']} {i['text']} ({i['owner']}, due {i['due']}, "
           f"{i['state']})" for i in issues] or ["   - (none)"]),
        "3. Other business.",
    ])


def open_meeting(uow: UnitOfWork, *, period: str, process_id: int | None) -> MeetingPublic:
    """The meeting of ``period`` (opened once: a re-run finds it), linked to its cycle run's
    process. BadInput for a period that is no quarter nor year."""
    kind = meeting_kind(period)
    with uow:
        m = uow.session.exec(select(Meeting).where(col(Meeting.period) == period)
                             .with_for_update()).first()
        if m is None:
            m = Meeting(kind=kind.value, period=period, process_id=process_id,
                        state=MeetingState.AGENDA, created_at=uow.now())
            uow.session.add(m)
            uow.session.flush()
            assert m.id is not None
            uow.audit(actor=SYSTEM.email, entity_type="meeting", entity_id=m.id,
                      process_id=process_id, action="open", to_state=m.state,
                      data={"period": period, "kind": kind.value})
            uow.commit()
        return _view(uow, m)


def marketing_head(uow: UnitOfWork) -> str:
    """The e-mail of marketing's active head, who prepares the agenda and approves the
    minutes. NotFound when marketing has none."""
    with uow:
        head = head_of(uow, MARKETING)
    if head is None:
        raise NotFound(f"{MARKETING} has no active head to prepare the meeting")
    return head


def _done_item(uow: UnitOfWork, item_id: int, form_name: str) -> WorkItem:
    item = uow.session.get(WorkItem, item_id)
    if item is None or item.state != WorkState.DONE or item.form_name != form_name:
        raise BadInput(f"W-{item_id}: only a done {form_name} step is recorded on a meeting")
    return item


def _move(uow: UnitOfWork, m: Meeting, to: MeetingState, actor: str, data: dict[str, Any]
          ) -> None:
    before = m.state
    m.state = to
    uow.session.add(m)
    uow.audit(actor=actor, entity_type="meeting", entity_id=m.id or 0, process_id=m.process_id,
              action=f"record-{before}", from_state=before, to_state=to, data=data)


def record_agenda(uow: UnitOfWork, meeting_id: int, *, item_id: int) -> MeetingPublic:
    """Keep the agenda the head handed in (a done ``MeetingAgenda`` step)."""
    with uow:
        m = _meeting(uow, meeting_id, for_update=True)
        item = _done_item(uow, item_id, "MeetingAgenda")
        m.agenda = str((item.data or {}).get("agenda", ""))
        if m.state == MeetingState.AGENDA:
            _move(uow, m, MeetingState.MINUTES, item.completed_by or SYSTEM.email,
                  {"step": ref(item)})
        uow.commit()
        return _view(uow, m)


def record_minutes(uow: UnitOfWork, meeting_id: int, *, item_id: int) -> MeetingPublic:
    """Keep the minutes of a done ``MeetingMinutes`` step (they passed ``answers.minutes_check``
    when it was completed): held on, attendees, summary, and the decisions (replacing a revised
    draft's); the minutes go to the head for approval. BadInput naming each field path if the
    organisation changed since and they no longer pass."""
    with uow:
        m = _meeting(uow, meeting_id, for_update=True)
        item = _done_item(uow, item_id, "MeetingMinutes")
        data = dict(item.data or {})
        problems = minutes_check(uow.session, data)
        if problems:
            raise BadInput(f"{ref(item)}: the minutes break the rules: "
                           + "; ".join(f"{f}: {msg}" for f, msg in problems))
        if m.state == MeetingState.SENT:
            return _view(uow, m)
        members = {normalise_email(str(d["owner"])): (find_member(
            uow.session, str(d["owner"])) or None) for d in data["decisions"]}
        departments = {e: (x.department if x else None) for e, x in members.items()}
        for old in _decisions(uow, m.id or 0):
            uow.session.delete(old)
        uow.session.flush()
        for n, d in enumerate(decisions_of(data, departments), start=1):
            uow.session.add(MeetingDecision(
                meeting_id=m.id or 0, number=n, text=d.text, owner_email=d.owner,
                owner_department=departments[d.owner] or "", due_on=d.due,
                departments=list(d.departments)))
        m.held_on = date.fromisoformat(str(data["held_on"]))
        m.attendees = str(data.get("attendees") or "")
        m.summary = str(data.get("summary") or "")
        m.minutes_by = item.completed_by
        _move(uow, m, MeetingState.APPROVAL, item.completed_by or SYSTEM.email,
              {"step": ref(item), "decisions": len(data["decisions"])})
        uow.commit()
        return _view(uow, m)


def record_approval(uow: UnitOfWork, meeting_id: int, *, item_id: int) -> MeetingPublic:
    """The head's answer on the minutes (a done ``MinutesApproval`` step): approved, they are
    the minutes to send; to revise, they go back to marketing."""
    with uow:
        m = _meeting(uow, meeting_id, for_update=True)
        item = _done_item(uow, item_id, "MinutesApproval")
        decision = (item.data or {}).get("decision")
        if m.state == MeetingState.APPROVAL:
            if decision == "approve":
                m.approved_by, m.approved_at = item.completed_by, item.completed_at
                uow.session.add(m)
                uow.audit(actor=item.completed_by or SYSTEM.email, entity_type="meeting",
                          entity_id=m.id or 0, process_id=m.process_id, action="approve",
                          data={"step": ref(item)})
            else:
                _move(uow, m, MeetingState.MINUTES, item.completed_by or SYSTEM.email,
                      {"step": ref(item), "decision": decision,
                       "comment": (item.data or {}).get("comment", "")})
        uow.commit()
        return _view(uow, m)


def _due(uow: UnitOfWork, day: date) -> datetime:
    """The end of ``day`` in the schedules' zone: when a decision's work is due."""
    return datetime.combine(day, time(23, 59), tzinfo=ZoneInfo(uow.settings.schedule_tz))


def send_minutes(uow: UnitOfWork, meeting_id: int, *, link: str = "") -> dict[str, Any]:
    """Send approved minutes: each department they go to (management, and those the decisions
    name) gets an item to read, told through the outbox; each decision becomes work for its
    owner (a work item in marketing, a handoff from marketing to another department), due at
    the end of its due day. Once per meeting: a re-run finds what it made. BadInput unless the
    head approved the minutes. Returns sent_to (departments), read (refs), decisions (rows:
    number, owner, due, work)."""
    from mktflow.engine import handoffs, work

    with uow:
        m = _meeting(uow, meeting_id, for_update=True)
        if m.approved_by is None:
            raise BadInput(phrase(
                "%(ref)s: minutes are sent once the head approved them (it is at %(state)s)",
                ref=meeting_ref(m.id), state=_STATE_WORDS.get(m.state, m.state)))
        decisions = _decisions(uow, meeting_id)
        rows = [(d.id, d.number, d.text, d.owner_email, d.owner_department, d.due_on)
                for d in decisions]
        to = recipients(decisions_of({"decisions": [
            {"text": d.text, "owner": d.owner_email, "due": d.due_on,
             "departments": d.departments} for d in decisions]},
            {d.owner_email: d.owner_department for d in decisions}))
        head = m.approved_by
        label, process_id = meeting_ref(m.id), m.process_id
        title = phrase("Minutes of the %(meeting)s (%(ref)s)",
                       meeting=meeting_name(m.kind, m.period), ref=label)
    summary = joined([phrase("#%(n)s %(text)s (%(member)s, due %(due)s)", n=n, text=text,
                             member=owner, due=due) for _i, n, text, owner, _dep, due in rows])
    read = []
    for dept in to:
        with as_engine(uow):
            read.append(ref(work.create_work_item(
                uow, actor_email=SYSTEM.email, department=dept, title=title,
                description=phrase("Decisions: %(summary)s. Read them: `mktflow meeting show "
                                   "%(ref)s` or the Meetings page. %(link)s", summary=summary,
                                   ref=label, link=link) if link else
                phrase("Decisions: %(summary)s. Read them: `mktflow meeting show %(ref)s` or the "
                       "Meetings page.", summary=summary, ref=label),
                form_schema=READ_FORM, form_name="MinutesRead", process_id=process_id,
                step_key=f"minutes/{dept}")))
    out = []
    for decision_id, n, text, owner, dept, due in rows:
        what = f"{label} #{n}: {text}"[:300]
        if dept == MARKETING:
            with as_engine(uow):
                item = work.create_work_item(
                    uow, actor_email=SYSTEM.email, department=dept, assignee=owner,
                    title=what, description=phrase(
                        "Decided at the %(minutes)s. Mark it done when it is carried out "
                        "(`mktflow work complete`).", minutes=title),
                    due_at=_due(uow, due), process_id=process_id, step_key=f"decision/{n}")
            work_id, handoff_id, name = item.id, None, ref(item)
        else:
            handoff = handoffs.offer(
                uow, actor_email=head, from_department=MARKETING, to_department=dept,
                title=what, due_at=_due(uow, due),
                criteria=phrase("Decided at the %(minutes)s; its owner is %(member)s.",
                                minutes=title, member=owner),
                deliverables=["the decision carried out"], process_id=process_id,
                step_key=f"decision/{n}")
            work_id, handoff_id, name = None, handoff.id, ref(handoff)
        with uow:
            d = uow.session.get(MeetingDecision, decision_id, with_for_update=True)
            assert d is not None
            d.work_item_id, d.handoff_id = work_id, handoff_id
            uow.session.add(d)
            uow.commit()
        out.append({"number": n, "owner": owner, "department": dept, "due": due.isoformat(),
                    "work": name})
    with uow:
        m = _meeting(uow, meeting_id, for_update=True)
        if m.state != MeetingState.SENT:
            m.sent_to, m.sent_at = to, uow.now()
            _move(uow, m, MeetingState.SENT, head, {"to": to, "read": read})
        uow.commit()
    return {"meeting": label, "sent_to": to, "read": read, "decisions": out}

