"""Work reports upward: the rules of the daily, weekly and monthly reports (issue 23, item 2).

Source: seed 001, 市场部管理制度 4 "应把一天的工作在下班之前向主管领导汇报" (report the day's
work to the head before the end of the working day); 管理规定 2.(2) "市场部员工需向上级汇报工作
进展和问题,及时提交工作报告" (staff report progress and problems upward and hand in their
work reports in time); 日常管理规范 四.2 "市场部人员应按照规定的时间和形式提交工作报告" (reports
at the set time and in the set form).

- **Who reports.** Every active member who is not the head of their department, in every
  department but management (management reads the reports; a head reads their department's).
- **The set form.** What was done, the problems met, what comes next (``done``, ``problems``,
  ``next``); ``done`` may not be empty; each text at most ``TEXT_MAX`` characters, line breaks
  allowed (``mktflow.domain.inputs.check_text``).
- **The set time.** A daily report is due at the end of the member's working day, in their
  branch's working calendar; a branch without a calendar uses the default working day
  (``default_working_day``: Monday to Friday, 09:00-18:00 in the schedules' time zone). A day
  that is not a working day in that calendar owes no report.
- **Missing.** A member who owes a report for a day and has none by the next morning is named
  to their head (``missing``).
- **Weekly and monthly.** A week runs Monday to Sunday (named ``2026-W50``, ISO weeks), a month
  from its first day (``2026-12``); each gathers the member's daily reports of the period
  (``gather``) for management, unless the member wrote their own.
- **Who may read a report.** The member who wrote it, the head of their department (or the
  head's active delegate), and management (``mktflow.domain.model.READ_RULES``, ``report``).

Pure: standard library only (and the calendar and input rules of the domain).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from mktflow.domain.calendars import WorkingCalendar
from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import check_text
from mktflow.domain.model import MANAGEMENT, Role
from mktflow.domain.words import on_field, phrase, word

__all__ = [
    "GATHERED_MAX",
    "REPORT_FORM",
    "REPORT_FORM_NAME",
    "TEXT_MAX",
    "DailyEntry",
    "ReportKind",
    "check_texts",
    "default_working_day",
    "gather",
    "missing",
    "owes_reports",
    "parse_period",
    "period_label",
    "period_span",
    "period_start",
    "previous_working_day",
    "report_due",
    "report_kind",
    "report_ref",
]

#: The longest text a person writes in one field of a report.
TEXT_MAX = 4_000
#: The longest gathered text of a weekly or monthly report (the rest is cut, with a note).
GATHERED_MAX = 40_000
#: The form name of the daily report step (``WorkItem.form_name``).
REPORT_FORM_NAME = "DailyReport"
_FIELDS = ("done", "problems", "next")


class ReportKind(StrEnum):
    """How long a period a report covers."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


#: The daily report step's form (JSON Schema): the set form of every report.
REPORT_FORM: dict[str, object] = {
    "title": REPORT_FORM_NAME, "type": "object", "required": ["done"],
    "properties": {
        "done": {"type": "string", "minLength": 1, "maxLength": TEXT_MAX,
                 "title": "Done", "description": "What you did today."},
        "problems": {"type": "string", "maxLength": TEXT_MAX, "title": "Problems",
                     "description": "Problems met, and what you need to solve them."},
        "next": {"type": "string", "maxLength": TEXT_MAX, "title": "Next",
                 "description": "What you will do next."},
    },
}


def report_kind(value: str) -> ReportKind:
    """``value`` as a report kind; BadInput naming ``kind`` otherwise."""
    try:
        return ReportKind(value)
    except ValueError:
        raise BadInput(on_field("kind", phrase(
            "%(given)s is not a report kind (daily, weekly or monthly)", given=repr(value)))
                       ) from None


def report_ref(report_id: int | None) -> str:
    """How people name a report: ``R-3``."""
    return f"R-{report_id}"


def check_texts(done: str | None, problems: str | None, next_: str | None
                ) -> tuple[str, str, str]:
    """The three texts of a report, stripped: ``done`` must say something; each at most
    ``TEXT_MAX`` characters, line breaks allowed. BadInput naming the field otherwise."""
    texts = []
    for field, value in zip(_FIELDS, (done, problems, next_), strict=True):
        text = (value or "").strip()
        texts.append(check_text(text, field=field, max_length=TEXT_MAX, multiline=True))
    if not texts[0]:
        raise BadInput(on_field("done", phrase(
            "must not be empty: say what you did in the period")))
    return texts[0], texts[1], texts[2]


def period_start(kind: ReportKind, day: date) -> date:
    """The first day of the ``kind`` period ``day`` falls in: the day, its Monday, its 1st."""
    if kind is ReportKind.DAILY:
        return day
    if kind is ReportKind.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_span(kind: ReportKind, start: date) -> tuple[date, date]:
    """(first day, first day after) of the period beginning ``start``."""
    start = period_start(kind, start)
    if kind is ReportKind.DAILY:
        return start, start + timedelta(days=1)
    if kind is ReportKind.WEEKLY:
        return start, start + timedelta(days=7)
    nxt = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, nxt


def period_label(kind: ReportKind, start: date) -> str:
    """How people name the period: ``2026-12-07``, ``2026-W50``, ``2026-12``."""
    if kind is ReportKind.DAILY:
        return start.isoformat()
    if kind is ReportKind.WEEKLY:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year:04d}-{start.month:02d}"


def parse_period(kind: ReportKind | str, raw: str | None, today: date) -> date:
    """The first day of the period ``raw`` names (``today``'s when None): a day in it
    (``2026-12-09``), or its name (``2026-W50``, ``2026-12``). BadInput naming ``period``."""
    kind = report_kind(kind)
    if raw is None or not raw.strip():
        return period_start(kind, today)
    text = raw.strip()
    try:
        if kind is ReportKind.WEEKLY and "-W" in text.upper():
            year, week = text.upper().split("-W")
            return date.fromisocalendar(int(year), int(week), 1)
        if kind is ReportKind.MONTHLY and len(text) == 7:
            return date(int(text[:4]), int(text[5:]), 1)
        return period_start(kind, date.fromisoformat(text))
    except ValueError:
        examples: dict[ReportKind, str] = {
            ReportKind.DAILY: "2026-12-07",
            ReportKind.WEEKLY: phrase("%(period)s or a day in it", period="2026-W50"),
            ReportKind.MONTHLY: phrase("%(period)s or a day in it", period="2026-12")}
        raise BadInput(on_field("period", phrase(
            "%(given)s is not a %(kind)s period (give %(example)s)", given=repr(text),
            kind=word(kind.value), example=examples[kind]))) from None


def default_working_day(zone: str) -> WorkingCalendar:
    """The working day of a branch without a calendar: Monday to Friday, 09:00-18:00 in
    ``zone`` (the schedules' time zone)."""
    return WorkingCalendar(label=phrase("default working day, %(zone)s", zone=zone), zone=zone)


def report_due(calendar: WorkingCalendar, day: date) -> datetime:
    """When the daily report for ``day`` is due: the end of that working day (UTC)."""
    return calendar.hours_of(day)[1]


def previous_working_day(calendar: WorkingCalendar, day: date) -> date:
    """The last working day before ``day`` in ``calendar`` (within a year and a bit)."""
    for back in range(1, 400):
        earlier = day - timedelta(days=back)
        if calendar.is_working_day(earlier):
            return earlier
    raise BadInput(phrase(
        "calendar %(calendar)s: no working day in the %(days)s days before %(day)s",
        calendar=calendar.label, days=400, day=day.isoformat()))


def owes_reports(department: str, role: str, active: bool) -> bool:
    """Whether a member writes daily reports: active, not a head, not in management."""
    return active and department != MANAGEMENT and role != Role.HEAD


def missing(owing: Iterable[str], submitted: Iterable[str]) -> list[str]:
    """The members (e-mails, sorted) who owe a report and have not written it."""
    return sorted(set(owing) - set(submitted))


@dataclass(frozen=True)
class DailyEntry:
    """One daily report as a weekly or monthly report gathers it."""

    day: date
    done: str
    problems: str
    next: str


def _cut(text: str) -> str:
    if len(text) <= GATHERED_MAX:
        return text
    note = "\n… (cut: read the daily reports for the rest)"
    return text[:GATHERED_MAX - len(note)] + note


def gather(dailies: Sequence[DailyEntry]) -> tuple[str, str, str]:
    """A weekly or monthly report's texts from the member's daily reports, in day order:
    each day's ``done`` and ``problems`` under its date, and the last day's ``next``.
    BadInput when there is none to gather."""
    if not dailies:
        raise BadInput(on_field("period", phrase("no daily report to gather")))
    ordered = sorted(dailies, key=lambda d: d.day)

    def lines(field: str) -> str:
        return "\n".join(f"{d.day:%a %d %b}: {getattr(d, field)}" for d in ordered
                         if getattr(d, field))

    return _cut(lines("done")), _cut(lines("problems")), _cut(ordered[-1].next)
