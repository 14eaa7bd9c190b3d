"""Command handlers and reads of the work reports upward: open each member's daily report step,
record a report (from the step or written directly), the head's digest in the evening, the
missing reports named to the head the next morning, the weekly and monthly reports gathered
for management.

Source: seed 001, 市场部管理制度 4 (report the day's work to the head before the end of the
working day), 管理规定 2.(2) and 日常管理规范 四.2 (work reports at the set time and in the
set form); the rules are ``mktflow.domain.work_reports``. Who may read a report is the read
table's ``report`` row (the member, their head, management).

A daily report is a work item in the member's hands (step key ``report/daily/<day>/<email>``,
form ``DailyReport``) due at the end of the member's working day. Completing it at any door
(``mktflow work complete``, ``POST /work/{item}/complete``, the step's page) or submitting the
report (``mktflow report submit``, ``POST /reports``, the Reports page) records the report
(``record_step``): the texts go into the ``workreport`` table, the step keeps only the
report's name (``{"report": "R-3"}``), so the member's colleagues, who see the department's
steps, do not read the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import col, select

from mktflow.domain.actors import SYSTEM, Target, authorize_read, may_read
from mktflow.domain.calendars import WorkingCalendar
from mktflow.domain.errors import BadInput, NotFound
from mktflow.domain.inputs import check_id, format_time, normalise_email
from mktflow.domain.model import (
    MANAGEMENT,
    OPEN_WORK_STATES,
    ProcessStatus,
    Readable,
    WorkState,
    read_rule,
)
from mktflow.domain.words import on_field, phrase
from mktflow.domain.work_reports import (
    REPORT_FORM,
    REPORT_FORM_NAME,
    DailyEntry,
    ReportKind,
    check_texts,
    default_working_day,
    gather,
    missing,
    owes_reports,
    parse_period,
    period_label,
    period_span,
    period_start,
    previous_working_day,
    report_due,
    report_kind,
    report_ref,
)
from mktflow.engine.calendars import find_calendar
from mktflow.engine.common import actor_for, as_engine, ref
from mktflow.engine.notices import head_of
from mktflow.engine.processes import open_instance
from mktflow.engine.refs import ref_number
from mktflow.engine.report_records import existing, member_of, record_step, step_key, write
from mktflow.engine.views import WorkReportPublic
from mktflow.engine.visibility import reading_actor
from mktflow.store.tables import Member, ProcessInstance, WorkItem, WorkReport
from mktflow.store.uow import UnitOfWork

__all__ = [
    "DAILY_PROCESS",
    "READ_FORM",
    "DepartmentDay",
    "department_day",
    "gather_period",
    "list_reports",
    "name_missing",
    "open_daily",
    "record_step",
    "report_number",
    "report_view",
    "send_digest",
    "show_report",
    "step_key",
    "submit",
    "today_for",
]

#: The process (and flow) names of the routine's runs.
DAILY_PROCESS = "daily-reports"
#: The form of the items heads and management read (the digest, the missing, the summary).
READ_FORM: dict[str, Any] = {"type": "object", "properties": {
    "acknowledged": {"type": "boolean"}, "comment": {"type": "string", "maxLength": 2000}}}


def _calendar(uow: UnitOfWork, email: str) -> WorkingCalendar:
    """The calendar of the member's branch, else the default working day."""
    return find_calendar(uow, members=(email,)) or default_working_day(uow.settings.schedule_tz)


def _today(uow: UnitOfWork, email: str | None = None) -> date:
    zone = _calendar(uow, email).tz if email else default_working_day(
        uow.settings.schedule_tz).tz
    return uow.now().astimezone(zone).date()


def today_for(uow: UnitOfWork, email: str | None = None) -> date:
    """Today in the member's calendar's zone (the schedules' zone without a member)."""
    with uow:
        return _today(uow, email)


def report_view(row: WorkReport) -> WorkReportPublic:
    """A report row as people and scripts read it."""
    assert row.id is not None
    kind = ReportKind(row.kind)
    return WorkReportPublic(
        id=row.id, ref=report_ref(row.id), member=row.member_email, department=row.department,
        kind=kind.value, period=period_label(kind, row.period_start),
        period_start=row.period_start.isoformat(), done=row.done, problems=row.problems,
        next=row.next, step=None if row.work_item_id is None else f"W-{row.work_item_id}",
        due_at=format_time(row.due_at),
        late=bool(row.due_at and row.submitted_at and row.submitted_at > row.due_at),
        submitted_by=row.submitted_by, submitted_at=format_time(row.submitted_at))


def _target(row: WorkReport) -> Target:
    return Target(ref=report_ref(row.id), department=row.department, branch=row.branch,
                  assignee=row.member_email)


def report_number(reference: str | int) -> int:
    """The id in ``R-3`` (or ``3``); NotFound naming what was given otherwise."""
    number = ref_number(reference, "R")
    if number is None:
        raise NotFound(on_field("report", phrase(
            "%(given)s names no report (a report is named R-<number>)",
            given=repr(str(reference).strip()))))
    return check_id(number, report_ref(number))


def submit(uow: UnitOfWork, *, actor_email: str, done: str | None, problems: str | None = None,
           next_: str | None = None, kind: str = "daily", period: str | None = None,
           ) -> WorkReportPublic:
    """The acting member's report for a period (today's, this week's, this month's when
    ``period`` is None): a daily one completes the day's report step when it is open (as
    ``mktflow work complete`` would), else it is recorded on its own; a second submission
    revises the texts. BadInput for a text that breaks the rules, an unknown kind, a malformed
    period or a period that has not begun; NotFound for an e-mail of no active member."""
    from mktflow.engine import work

    email = normalise_email(actor_email)
    period_kind = report_kind(kind)
    texts = check_texts(done, problems, next_)
    with uow:
        actor = actor_for(uow, email)
        today = _today(uow, actor.email)
        start = parse_period(period_kind, period, today)
        if start > today:
            raise BadInput(on_field("period", phrase(
                "%(period)s has not begun (today is %(today)s)",
                period=period_label(period_kind, start), today=today.isoformat())))
        item = uow.session.exec(select(WorkItem).where(
            col(WorkItem.step_key) == step_key(start, actor.email),
            col(WorkItem.state).in_(sorted(OPEN_WORK_STATES)))).first() \
            if period_kind is ReportKind.DAILY else None
        if item is None:
            member = member_of(uow, actor.email)
            due = report_due(_calendar(uow, actor.email), start) \
                if period_kind is ReportKind.DAILY else None
            row = write(uow, member=member, actor=actor.email, kind=period_kind, start=start,
                         texts=texts, due_at=due)
            uow.commit()
            return report_view(row)
        item_id = item.id
    assert item_id is not None
    done_item = work.complete(uow, item_id, actor_email=actor.email, data={
        "done": texts[0], "problems": texts[1], "next": texts[2]})
    return show_report(uow, str((done_item.data or {}).get("report")), reader=actor.email)


def show_report(uow: UnitOfWork, reference: str | int, *, reader: str | None = None
                ) -> WorkReportPublic:
    """One report (``R-3`` or 3). NotFound; NotAuthorized for a reader the read table's
    ``report`` row does not grant (the member, their head, management)."""
    report_id = report_number(reference)
    with uow:
        actor = reading_actor(uow, reader)
        row = uow.session.get(WorkReport, report_id)
        if row is None:
            raise NotFound(phrase("%(ref)s does not exist", ref=report_ref(report_id)))
        if actor is not None:
            authorize_read(actor, read_rule(Readable.REPORT), _target(row))
        return report_view(row)


def list_reports(uow: UnitOfWork, *, reader: str | None = None, department: str | None = None,
                 member: str | None = None, kind: str | None = None, period: str | None = None,
                 limit: int = 200) -> list[WorkReportPublic]:
    """The reports ``reader`` may see (newest period first, at most ``limit``): of one
    department, one member, one kind, one period (a period needs its kind; daily without
    one). BadInput for an unknown kind or a malformed period."""
    if kind is not None:
        report_kind(kind)
    with uow:
        actor = reading_actor(uow, reader)
        query = select(WorkReport).order_by(col(WorkReport.period_start).desc(),
                                            col(WorkReport.id).desc())
        if department:
            query = query.where(col(WorkReport.department) == department)
        if member:
            query = query.where(col(WorkReport.member_email) == normalise_email(member))
        if kind:
            query = query.where(col(WorkReport.kind) == kind)
        if period:
            period_kind = ReportKind(kind or "daily")
            start = parse_period(period_kind, period, _today(uow))
            query = query.where(col(WorkReport.kind) == period_kind.value,
                                col(WorkReport.period_start) == start)
        rule = read_rule(Readable.REPORT)
        rows = [r for r in uow.session.exec(query)
                if actor is None or may_read(actor, rule, _target(r))]
        return [report_view(r) for r in rows[:limit]]


# --- the routine's runs -----------------------------------------------------------------------


def _process(uow: UnitOfWork, name: str, period: str, flow_run_id: str | None
             ) -> ProcessInstance:
    """The process instance of one run of the routine (``daily-reports/2026-12-07``), opened
    once and ended at once: the steps it puts in people's hands outlive it, as a cycle's do."""
    key = f"{name}/{period}"
    process = uow.session.exec(select(ProcessInstance).where(
        col(ProcessInstance.business_key) == key).with_for_update()).first()
    if process is None:
        process = open_instance(uow, process=name, business_key=key, owner_email=SYSTEM.email,
                                params={"period": period}, flow_run_id=flow_run_id)
        process.status = ProcessStatus.COMPLETED
        uow.session.add(process)
        uow.audit(actor=SYSTEM.email, entity_type="process", entity_id=process.id or 0,
                  process_id=process.id, action="finish", from_state=ProcessStatus.RUNNING,
                  to_state=ProcessStatus.COMPLETED)
    return process


def _owing(uow: UnitOfWork, day: date) -> list[Member]:
    """The members who owe a daily report for ``day``: active, not heads, not management, and
    ``day`` a working day in their calendar."""
    members = uow.session.exec(select(Member).order_by(col(Member.department),
                                                       col(Member.email))).all()
    return [m for m in members if owes_reports(m.department, m.role, m.active)
            and _calendar(uow, m.email).is_working_day(day)]


def open_daily(uow: UnitOfWork, *, day: date, flow_run_id: str | None = None
               ) -> list[dict[str, Any]]:
    """Put ``day``'s report step in the hands of every member who owes one, due at the end of
    their working day; once per member and day (a re-run finds the steps it made). Returns
    rows: member, department, step (W-n), due."""
    from mktflow.engine import work

    with uow:
        process = _process(uow, DAILY_PROCESS, day.isoformat(), flow_run_id)
        uow.commit()
        owing = [(m.email, m.department, report_due(_calendar(uow, m.email), day))
                 for m in _owing(uow, day)]
        process_id = process.id
    rows = []
    for email, department, due in owing:
        with as_engine(uow):
            item = work.create_work_item(
                uow, actor_email=SYSTEM.email, department=department, assignee=email,
                title=f"Daily report {day:%a %d %b %Y}",
                description="Report the day's work to your head before the end of your "
                            "working day: what you did, the problems you met, what comes next "
                            "(`mktflow report submit`, or this step's form).",
                form_schema=REPORT_FORM, form_name=REPORT_FORM_NAME, due_at=due,
                process_id=process_id, step_key=step_key(day, email))
        rows.append({"member": email, "department": department, "step": ref(item),
                     "due": format_time(item.due_at)})
    return rows


@dataclass(frozen=True)
class DepartmentDay:
    """One department's daily reports of one day: those in, and who still owes one."""

    department: str
    head: str | None
    reports: list[WorkReportPublic]
    missing: list[str]


def department_day(uow: UnitOfWork, *, day: date) -> list[DepartmentDay]:
    """Each department with a member owing a report for ``day`` (given that day's report step,
    not withdrawn) or having written one: the reports in, the missing. A day the routine did
    not run for names nobody missing."""
    with uow:
        owing: dict[str, list[str]] = {}
        steps = uow.session.exec(select(WorkItem).where(
            col(WorkItem.step_key).startswith(f"report/daily/{day.isoformat()}/"),
            col(WorkItem.state) != WorkState.CANCELLED).order_by(col(WorkItem.step_key))).all()
        for item in steps:
            owing.setdefault(item.department, []).append((item.step_key or "").split("/")[3])
        rows = uow.session.exec(select(WorkReport).where(
            col(WorkReport.kind) == ReportKind.DAILY.value,
            col(WorkReport.period_start) == day).order_by(col(WorkReport.member_email))).all()
        out = []
        for department in sorted(owing | {r.department: [] for r in rows}):
            mine = [r for r in rows if r.department == department]
            out.append(DepartmentDay(
                department=department, head=head_of(uow, department),
                reports=[report_view(r) for r in mine],
                missing=missing(owing.get(department, []), [r.member_email for r in mine])))
        return out


def _hand(uow: UnitOfWork, *, process_id: int | None, department: str, to: str | None,
          key: str, title: str, description: str) -> WorkItem:
    from mktflow.engine import work

    with as_engine(uow):
        return work.create_work_item(
            uow, actor_email=SYSTEM.email, department=department, assignee=to, title=title,
            description=description, form_schema=READ_FORM, form_name="ReportRead",
            process_id=process_id, step_key=key)


def send_digest(uow: UnitOfWork, *, day: date, flow_run_id: str | None = None,
                link: str = "") -> list[dict[str, Any]]:
    """The evening digest: each department's head gets an item to read naming the reports in
    and those still missing (the texts stay in the reports, read at ``mktflow report list``);
    they are told through the outbox. Returns rows: department, head, in, missing, step."""
    days = department_day(uow, day=day)
    with uow:
        process = _process(uow, DAILY_PROCESS, day.isoformat(), flow_run_id)
        uow.commit()
        process_id = process.id
    out = []
    for d in days:
        names = ", ".join(d.missing) or "none"
        item = _hand(
            uow, process_id=process_id, department=d.department, to=d.head,
            key=f"digest/{d.department}",
            title=f"Daily reports of {d.department}, {day:%a %d %b}: {len(d.reports)} in, "
                  f"{len(d.missing)} missing",
            description=f"In: {', '.join(r.member for r in d.reports) or 'none'}. Missing so "
                        f"far: {names}. Read them: `mktflow report list --department "
                        f"{d.department} --period {day.isoformat()}`, or the Reports page. "
                        f"{link}".strip())
        out.append({"department": d.department, "head": d.head, "in": len(d.reports),
                    "missing": d.missing, "step": ref(item)})
    return out


def name_missing(uow: UnitOfWork, *, today: date, flow_run_id: str | None = None
                 ) -> list[dict[str, Any]]:
    """The next working morning: each head is named the members of their department who owe a
    report for the last working day before ``today`` and have none (an item to read, and its
    notice); on a day that is not a working day in a member's calendar, nothing is said of them
    (Friday's are named on Monday).
    Departments with none missing get nothing. Returns rows: department, head, day, missing,
    step."""
    with uow:
        calendars = {m.email: _calendar(uow, m.email) for m in uow.session.exec(
            select(Member)).all() if owes_reports(m.department, m.role, m.active)}
        days = {email: previous_working_day(calendar, today)
                for email, calendar in calendars.items() if calendar.is_working_day(today)}
    out = []
    for day in sorted(set(days.values())):
        for d in department_day(uow, day=day):
            late = [e for e in d.missing if days.get(e) == day]
            if not late:
                continue
            with uow:
                process = _process(uow, DAILY_PROCESS, day.isoformat(), flow_run_id)
                uow.commit()
                process_id = process.id
            item = _hand(uow, process_id=process_id, department=d.department, to=d.head,
                         key=f"missing/{d.department}",
                         title=f"Missing daily reports of {d.department}, {day:%a %d %b}: "
                               f"{', '.join(late)}",
                         description=f"{len(late)} member(s) of {d.department} wrote no report "
                                     f"for {day.isoformat()} by the end of their working day: "
                                     f"{', '.join(late)}.")
            out.append({"department": d.department, "head": d.head, "day": day.isoformat(),
                        "missing": late, "step": ref(item)})
    return out


def gather_period(uow: UnitOfWork, *, kind: str, period: str | None = None,
                  flow_run_id: str | None = None, link: str = "") -> dict[str, Any]:
    """The weekly or monthly reports of ``period`` (the one just ended when None): each member
    with daily reports in it gets one gathering them (``domain.work_reports.gather``; a re-run
    gathers again), unless they wrote their own; management gets an item to read. Returns
    period, kind, reports (views), step."""
    period_kind = ReportKind(kind) if kind in ("weekly", "monthly") else None
    if period_kind is None:
        raise BadInput(on_field("kind", phrase(
            "gathered reports are weekly or monthly, not %(given)s", given=repr(kind))))
    with uow:
        today = _today(uow)
        start = parse_period(period_kind, period, today) if period else period_start(
            period_kind, period_start(period_kind, today) - timedelta(days=1))
        first, after = period_span(period_kind, start)
        label = period_label(period_kind, start)
        process = _process(uow, f"{period_kind.value}-reports", label, flow_run_id)
        dailies = uow.session.exec(select(WorkReport).where(
            col(WorkReport.kind) == ReportKind.DAILY.value,
            col(WorkReport.period_start) >= first, col(WorkReport.period_start) < after)
            .order_by(col(WorkReport.member_email), col(WorkReport.period_start))).all()
        by_member: dict[str, list[WorkReport]] = {}
        for r in dailies:
            by_member.setdefault(r.member_email, []).append(r)
        rows = []
        for email, mine in by_member.items():
            row = existing(uow, email, period_kind, start)
            if row is None or row.submitted_by == SYSTEM.email:  # gathered again: the news
                member = uow.session.exec(select(Member).where(
                    col(Member.email) == email)).first()
                if member is None:
                    continue
                texts = gather([DailyEntry(r.period_start, r.done, r.problems, r.next)
                                for r in mine])
                row = write(uow, member=member, actor=SYSTEM.email, kind=period_kind,
                             start=start, texts=texts)
            rows.append(report_view(row))
        uow.commit()
        process_id = process.id
    item = _hand(uow, process_id=process_id, department=MANAGEMENT, to=None,
                 key=f"report/{MANAGEMENT}",
                 title=f"{period_kind.value.capitalize()} work reports {label}: "
                       f"{len(rows)} member(s)",
                 description=f"Read them: `mktflow report list --kind {period_kind.value} "
                             f"--period {label}`, or the Reports page. {link}".strip())
    return {"period": label, "kind": period_kind.value, "reports": rows, "step": ref(item)}
