"""Each branch's working calendar, and due times given in working time (issue 25).

The public holidays and the days moved by law come from the ``holidays`` library
(``HolidaysBook``: China's statutory holidays with their make-up working days, Spain's national
and regional holidays, Russia's transferred days off); the week, hours, zone and the company's
own days from the branch's ``calendar`` in the organisation file (stored on the branch row).
A branch without one, or no branch at all, counts in calendar hours (``CALENDAR_HOURS``).

Which calendar a due time is counted in (``calendar_for``): the item's branch, else the branch
of the member who holds it, else of the member who sets the due time; none of them: calendar
hours.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from mktflow.domain.calendars import (
    CALENDAR_HOURS,
    WEEKDAYS,
    WorkingCalendar,
    WorkingDue,
    due_in_working_time,
)
from mktflow.domain.inputs import normalise_email
from mktflow.domain.organisation import CalendarSpec, clock_minutes
from mktflow.domain.words import Holiday, Phrase, phrase
from mktflow.store.tables import Branch, Member
from mktflow.store.uow import UnitOfWork

__all__ = ["HolidaysBook", "calendar_for", "calendar_from", "calendar_of_branch", "due_for",
           "find_calendar", "known_countries", "resolve_due"]

#: What a weekend day is when the law makes it a working day (the library names none): China
#: calls them make-up working days (调休上班); elsewhere (Russia's transferred working
#: Saturdays) a working day moved by law.
MOVED_WORKING_DAY = {"CN": phrase("make-up working day")}
MOVED_BY_LAW = phrase("working day moved by law")


class HolidaysBook:
    """A country's (and region's) public holidays from the ``holidays`` library.

    One book per country and region serves the whole process (``_book``); the library fills a
    year the first time it is asked about it, so the lookups hold a lock (the API answers from
    several threads).

    Names are the library's English ones (``en_US`` where it has that language for the country,
    so the server's locale never changes them); the pages name a holiday in the reader's
    language from its country, region and day (``mktflow.i18n.holiday_names``)."""

    def __init__(self, country: str, subdivision: str | None = None) -> None:
        import holidays

        english = "en_US" if "en_US" in holidays.list_localized_countries().get(country, ()) \
            else None
        self._book = holidays.country_holidays(country, subdiv=subdivision, language=english)
        self._country, self._subdivision = country, subdivision
        self._moved = MOVED_WORKING_DAY.get(country, MOVED_BY_LAW)
        self._lock = threading.Lock()

    def day_off(self, day: date) -> Holiday | None:
        """The holiday on ``day`` (its name, several joined with ``; ``), or None."""
        with self._lock:
            name = self._book.get(day)
        return Holiday(str(name), country=self._country, subdivision=self._subdivision,
                       day=day) if name else None

    def moved_working_day(self, day: date) -> str | None:
        """``make-up working day`` (China; elsewhere ``working day moved by law``) when the
        law makes weekend ``day`` a working day."""
        with self._lock:
            self._book.get(day)  # fills the year, and with it its moved working days
            moved = day in self._book.weekend_workdays
        return self._moved if moved else None


@cache
def _book(country: str, subdivision: str | None) -> HolidaysBook:
    return HolidaysBook(country, subdivision)


@cache
def known_countries() -> Mapping[str, tuple[str, ...]]:
    """Every country the holiday library knows, with its regions (``ES``: ``MD``, ``CT``…)."""
    import holidays

    return {code: tuple(regions) for code, regions in holidays.list_supported_countries().items()}


def calendar_from(code: str, raw: Mapping[str, Any] | None) -> WorkingCalendar:
    """The working calendar of branch ``code`` from its stored ``calendar`` (an organisation
    file's ``CalendarSpec`` as JSON); calendar hours when it has none."""
    if raw is None:
        return CALENDAR_HOURS
    spec = CalendarSpec.model_validate(raw)
    hours = spec.hours
    week = spec.week or list(WEEKDAYS[:5])
    label = code + (f", {spec.country}" if spec.country else "") + \
        (f"-{spec.subdivision}" if spec.subdivision else "")
    return WorkingCalendar(
        label=label, zone=spec.time_zone or "UTC",
        week=frozenset(WEEKDAYS.index(d) for d in week),
        start=clock_minutes(hours.start, field="hours.start") if hours else 9 * 60,
        end=clock_minutes(hours.end, field="hours.end") if hours else 18 * 60,
        book=_book(spec.country, spec.subdivision) if spec.country else None,
        days_off={d.date: d.name or "" for d in spec.days_off},
        working_days={d.date: d.name or "" for d in spec.working_days})


def calendar_of_branch(uow: UnitOfWork, code: str | None) -> WorkingCalendar | None:
    """Branch ``code``'s calendar; None when there is no such branch or it has no calendar."""
    row = uow.session.get(Branch, code) if code else None
    return calendar_from(row.code, row.calendar) if row is not None and row.calendar is not None \
        else None


def _member_branch(uow: UnitOfWork, email: str | None) -> str | None:
    if not email:
        return None
    from sqlmodel import col, select

    return uow.session.exec(select(Member.branch).where(
        col(Member.email) == normalise_email(email))).first()


def find_calendar(uow: UnitOfWork, *, branch: str | None = None,
                  members: tuple[str | None, ...] = ()) -> WorkingCalendar | None:
    """``branch``'s calendar, else that of the first of ``members`` (e-mails) whose branch has
    one; None when none has."""
    found = calendar_of_branch(uow, branch)
    for email in members:
        if found is not None:
            break
        found = calendar_of_branch(uow, _member_branch(uow, email))
    return found


def calendar_for(uow: UnitOfWork, *, branch: str | None = None,
                 members: tuple[str | None, ...] = ()) -> WorkingCalendar:
    """The calendar work is counted in (``find_calendar``); calendar hours when none has."""
    return find_calendar(uow, branch=branch, members=members) or CALENDAR_HOURS


def due_for(uow: UnitOfWork, due: WorkingDue, *, branch: str | None,
            members: tuple[str | None, ...]) -> tuple[datetime, Phrase]:
    """The due time of working-time input ``due`` from now, and how it was computed
    (``mktflow.domain.calendars.due_in_working_time``), in ``calendar_for``'s calendar."""
    calendar = calendar_for(uow, branch=branch, members=members)
    return due_in_working_time(due, uow.now(), calendar)


def resolve_due(uow: UnitOfWork, due: datetime | WorkingDue | None, *, branch: str | None,
                members: tuple[str | None, ...]) -> tuple[datetime | None, Phrase | None]:
    """A due input as stored: (the time, how it was computed, a message kept in the row's
    ``words`` as ``due_basis``); a time given as such is kept, with no explanation."""
    if isinstance(due, WorkingDue):
        return due_for(uow, due, branch=branch, members=members)
    return due, None
