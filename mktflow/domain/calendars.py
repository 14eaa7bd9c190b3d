"""Working calendars: when a branch works, and due times counted in working time (issue 25).

A branch keeps its country's working days (seed 003: HQ and branches; the business's branches
are in China, Spain and Russia): its working week and hours, its public holidays, the days its
law moves (China's make-up working days, Russia's transferred days off), and the company's own
days off and extra working days from the organisation file. ``WorkingCalendar`` holds all that
for one branch; the public holidays come through ``HolidayBook`` (a small Protocol, so the
domain needs no calendar library: the engine's ``mktflow.engine.calendars`` supplies one from
the ``holidays`` library).

A branch without a calendar counts in calendar hours (``CALENDAR_HOURS``: every hour of every
day, UTC), as mktflow always did.

Working-time due inputs (``parse_due``; docs: "Working calendars"):

- ``3 working days``: three working days' worth of working time (3 x the branch's daily hours)
  from now, or from the next working hour when now is outside working hours; from Fri 17:00
  with 09:00-18:00 hours that is the third working day at 17:00;
- ``2 working hours``: two hours of working time, counted the same way;
- ``end of the working day`` (also ``end of working day``, ``by end of the working day``,
  ``eod``): the end of today's working hours, or of the next working day's when today's are
  over or today is not a working day.

Times are timezone-aware; a calendar reads them in its branch's zone and returns them in UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import REASON_MAX, parse_time
from mktflow.domain.words import Dates, Holiday, Moment, Phrase, on_field, phrase

__all__ = [
    "CALENDAR_HOURS",
    "DUE_GRAMMAR",
    "WEEKDAYS",
    "WORKING_DUE_PATTERN",
    "HolidayBook",
    "WorkingCalendar",
    "WorkingDue",
    "due_in_working_time",
    "parse_due",
    "parse_working_due",
]

#: Weekday names as the organisation file writes them, Monday first (``date.weekday()``).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How far a calendar looks for a working day before it gives up (a year and a bit).
_SEARCH_DAYS = 400
#: The longest working-time due inputs: working days, working hours.
_MAX_DAYS = 999
_MAX_HOURS = 9_999


class HolidayBook(Protocol):
    """A country's (and region's) public holidays and the days its law moves."""

    def day_off(self, day: date) -> str | None:
        """The name of the public holiday (or day off moved onto it by law) on ``day``, or None."""

    def moved_working_day(self, day: date) -> str | None:
        """What a weekend ``day`` is when the law makes it a working day (China's make-up
        working days, Russia's transferred working Saturdays), or None."""


@dataclass(frozen=True)
class WorkingCalendar:
    """When one branch works: week, daily hours (minutes after local midnight, ``end`` may be
    1440), time zone, public holidays (``book``) and the company's own days.

    ``label`` names the calendar in explanations (``hq, CN``)."""

    label: str
    zone: str = "UTC"
    week: frozenset[int] = frozenset(range(5))
    start: int = 9 * 60
    end: int = 18 * 60
    book: HolidayBook | None = None
    days_off: Mapping[date, str] = field(default_factory=dict)
    working_days: Mapping[date, str] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        """The branch's time zone."""
        return ZoneInfo(self.zone)

    @property
    def day_length(self) -> timedelta:
        """One working day's hours (``3 working days`` is three of these)."""
        return timedelta(minutes=self.end - self.start)

    @property
    def every_hour(self) -> bool:
        """Whether every hour counts (calendar hours)."""
        return (self.week == frozenset(range(7)) and self.start == 0 and self.end == 1440
                and self.book is None and not self.days_off)

    def day_status(self, day: date) -> tuple[bool, str | None]:
        """Whether ``day`` is a working day, and why when it differs from the usual week (the
        holiday's name, ``make-up working day``, the company's day); None for a usual day."""
        if day in self.working_days:
            return True, self.working_days[day] or phrase("company working day")
        if day in self.days_off:
            return False, self.days_off[day] or phrase("company day off")
        if self.book is not None:
            holiday = self.book.day_off(day)
            if holiday:
                return False, holiday
            moved = self.book.moved_working_day(day)
            if moved:
                return True, moved
        return day.weekday() in self.week, None

    def is_working_day(self, day: date) -> bool:
        """Whether the branch works on ``day`` (a local date)."""
        return self.day_status(day)[0]

    def hours_of(self, day: date) -> tuple[datetime, datetime]:
        """The working hours of ``day`` as UTC moments (start, end)."""
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return ((midnight + timedelta(minutes=self.start)).astimezone(UTC),
                (midnight + timedelta(minutes=self.end)).astimezone(UTC))

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _each_working_span(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working hours (UTC start, end) of each working day from ``moment``'s local day
        on, looked up one day at a time, for at most ``_SEARCH_DAYS`` days."""
        day = self._local_day(moment)
        for n in range(_SEARCH_DAYS):
            if self.is_working_day(day + timedelta(days=n)):
                yield self.hours_of(day + timedelta(days=n))

    def is_working_moment(self, moment: datetime) -> bool:
        """Whether ``moment`` falls inside working hours of a working day."""
        return self.next_working_moment(moment) == moment.astimezone(UTC)

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself when it is working time, else the start of the next working hours
        (UTC); e.g. Fri 20:00 → Mon 09:00 local."""
        moment = moment.astimezone(UTC)
        if self.every_hour:
            return moment
        for start, end in self._each_working_span(moment):
            if moment < end:
                return max(moment, start)
        raise BadInput(phrase("calendar %(calendar)s: no working hours in %(days)s days",
                              calendar=self.label, days=_SEARCH_DAYS))

    def add_working_time(self, moment: datetime, amount: timedelta) -> datetime:
        """The moment ``amount`` of working time after ``moment`` (UTC); working time that
        ends exactly at a day's end ends there, not at the next day's start."""
        left, moment = amount, moment.astimezone(UTC)
        if self.every_hour:
            return moment + amount
        before = None
        while True:
            for start, end in self._each_working_span(moment):
                if moment >= end:
                    continue
                begin = max(moment, start)
                if left <= end - begin:
                    return begin + left
                left -= end - begin
                moment = end
            if moment == before:
                raise BadInput(phrase("calendar %(calendar)s: no working day in %(days)s days",
                                      calendar=self.label, days=_SEARCH_DAYS))
            before = moment  # a due time more than _SEARCH_DAYS away: search on from here

    def working_time_between(self, earlier: datetime, later: datetime) -> timedelta:
        """How much working time lies between two moments (zero when ``later`` is not later)."""
        total = timedelta(0)
        earlier, later = earlier.astimezone(UTC), later.astimezone(UTC)
        if later <= earlier:
            return total
        if self.every_hour:  # calendar hours: no day to look at
            return later - earlier
        day = self._local_day(earlier)
        while day <= self._local_day(later):
            if self.is_working_day(day):
                start, end = self.hours_of(day)
                lo, hi = max(start, earlier), min(end, later)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def end_of_working_day(self, moment: datetime) -> datetime:
        """The end of ``moment``'s working day, or of the next working day when today's hours
        are over or today is not a working day (UTC)."""
        moment = moment.astimezone(UTC)
        for _start, end in self._each_working_span(moment):
            if moment < end:
                return end
        raise BadInput(phrase("calendar %(calendar)s: no working hours in %(days)s days",
                              calendar=self.label, days=_SEARCH_DAYS))

    def unusual_days(self, first: date, last: date) -> list[tuple[date, bool, str]]:
        """The days from ``first`` to ``last`` (local dates) that have a reason of their own
        (a holiday, a moved working day, a company day): (day, working, why), in order."""
        found, day = [], first
        while day <= last:
            working, why = self.day_status(day)
            if why is not None:
                found.append((day, working, why))
            day += timedelta(days=1)
        return found


#: Every hour of every day, UTC: the calendar of a branch without one (calendar hours).
CALENDAR_HOURS = WorkingCalendar(label=phrase("calendar hours"), zone="UTC",
                                 week=frozenset(range(7)), start=0, end=1440)


@dataclass(frozen=True)
class WorkingDue:
    """A due time given in working time: ``amount`` working days or hours, or the end of the
    working day (``unit`` ``end-of-day``, ``amount`` 0)."""

    unit: Literal["day", "hour", "end-of-day"]
    amount: int = 0

    def words(self) -> Phrase:
        """How a person says it, a message: ``3 working days``, ``1 working hour``,
        ``end of the working day``."""
        if self.unit == "end-of-day":
            return phrase("end of the working day")
        if self.unit == "day":
            return phrase("%(amount)s working day", amount=self.amount) if self.amount == 1 \
                else phrase("%(amount)s working days", amount=self.amount)
        return phrase("%(amount)s working hour", amount=self.amount) if self.amount == 1 \
            else phrase("%(amount)s working hours", amount=self.amount)


#: The grammar in one line, for error messages and the docs.
DUE_GRAMMAR = ("an ISO 8601 time (2026-12-01 or 2026-12-01T17:00+01:00), or working time: "
               "'3 working days', '2 working hours', 'end of the working day'")
_COUNT = re.compile(r"^(?:in\s+|within\s+)?(\d{1,5})\s+working\s+(day|hour)s?$")
#: The working-time inputs as a JSON Schema ``pattern`` (the API's document), lower case.
WORKING_DUE_PATTERN = (r"^(?:(?:in |within )?(?:[1-9][0-9]{0,2} working days?|"
                       r"[1-9][0-9]{0,3} working hours?)|(?:by )?(?:the )?end of (?:the )?"
                       r"working day|eod)$")
_END_OF_DAY = re.compile(r"^(?:by\s+)?(?:the\s+)?end\s+of\s+(?:the\s+)?working\s+day$|^eod$")


def parse_due(raw: str | None, *, field: str = "due") -> datetime | WorkingDue | None:
    """A due input: an ISO 8601 time (``parse_time``: UTC) or working time (``WorkingDue``,
    see the module docstring; case and spaces do not matter). BadInput naming ``field`` and
    the grammar otherwise; at most 999 working days or 9,999 working hours."""
    if raw is None:
        return None
    text = " ".join(raw.strip().lower().split())
    if _END_OF_DAY.match(text):
        return WorkingDue("end-of-day")
    counted = _COUNT.match(text)
    if counted:
        amount, unit = int(counted.group(1)), counted.group(2)
        limit = _MAX_DAYS if unit == "day" else _MAX_HOURS
        if not 1 <= amount <= limit:
            given = repr(raw.strip())
            if unit == "day":
                raise BadInput(on_field(field, phrase(
                    "%(given)s: working days must be between 1 and %(limit)s", given=given,
                    limit=limit)))
            raise BadInput(on_field(field, phrase(
                "%(given)s: working hours must be between 1 and %(limit)s", given=given,
                limit=limit)))
        return WorkingDue("day" if unit == "day" else "hour", amount)
    if "working" in text or "work" in text.split():
        raise BadInput(_not_a_due_time(raw, field))
    try:
        return parse_time(raw, field=field)
    except BadInput as exc:
        if "out of range" in str(exc):
            raise
        raise BadInput(_not_a_due_time(raw, field)) from None


def parse_working_due(raw: str, *, field: str) -> WorkingDue:
    """Working time only (``3 working days``; ``parse_due``'s grammar): what a flow's
    parameter gives each of its steps. BadInput naming ``field`` for a time or anything else."""
    due = parse_due(raw, field=field)
    if not isinstance(due, WorkingDue):
        raise BadInput(on_field(field, phrase(
            "%(given)s is a time; give working time, e.g. '3 working days', '2 working hours', "
            "'end of the working day'", given=repr(raw.strip()))))
    return due


def _not_a_due_time(raw: str, field: str) -> Phrase:
    """``field: '…' is not a due time; give`` the grammar (``DUE_GRAMMAR``), a message."""
    return on_field(field, phrase(
        "%(given)s is not a due time; give an ISO 8601 time (2026-12-01 or "
        "2026-12-01T17:00+01:00), or working time: '3 working days', '2 working hours', 'end "
        "of the working day'", given=repr(raw.strip())))


def _day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


def _moment(value: datetime, zone: ZoneInfo, *, year: bool = False) -> Moment:
    """``value`` as the explanation writes it in English, in ``zone`` (``Fri 30 Sep 2022
    17:00``; without the year: ``Mon 3 Oct 09:00``), a ``Moment`` worded where shown."""
    local = value.astimezone(zone)
    return Moment(at=value.astimezone(UTC).isoformat(), zone=zone.key,
                  english=f"{_day(local.date())}{f' {local.year}' if year else ''} "
                          f"{local:%H:%M}")


def _name(why: str) -> str:
    """The name a run of unusual days goes by: ``why`` without the library's `` (observed)``
    (a ``Holiday`` stays one); empty for China's moved days off, which belong to the holiday
    they lengthen."""
    name = why.removesuffix(" (observed)")
    if name.startswith("Day off (substituted"):
        return ""
    if isinstance(why, Holiday):
        return why.named(name)
    return why if name == why else name


def _runs(days: list[tuple[date, bool, str]], week: frozenset[int]
          ) -> list[tuple[date, date, bool, str]]:
    """Consecutive unusual days of the same kind merged into (first, last, working, name);
    a run of days off that holds no usual working day (a holiday on a Sunday) is left out:
    it skips nothing."""
    merged: list[tuple[date, date, bool, str]] = []
    for day, working, why in days:
        name = _name(why)
        if merged and merged[-1][2] == working and merged[-1][1] + timedelta(days=1) == day \
                and (not name or not merged[-1][3] or name == merged[-1][3]):
            first, _last, _working, kept = merged[-1]
            merged[-1] = (first, day, working, kept or name)
        else:
            merged.append((day, day, working, name))
    return [run for run in merged if run[2] or any(
        (run[0] + timedelta(days=n)).weekday() in week for n in range((run[1] - run[0]).days + 1))]


def _basis(due: WorkingDue, now: datetime, start: datetime, end: datetime,
           calendar: WorkingCalendar) -> Phrase:
    """How the due time was computed, a message (see ``due_in_working_time``): its values
    are the working time (a message), the moments (``Moment``), the calendar's zone and label,
    the days skipped and counted (``Dates``, each with its holiday, ``Holiday``, or reason)."""
    zone = calendar.tz
    notes: list[Phrase] = []
    first, last = now.astimezone(zone).date(), end.astimezone(zone).date()
    for lo, hi, working, name in _runs(calendar.unusual_days(first, last), calendar.week):
        if working:  # the days worked although the usual week or a holiday says otherwise
            run = [lo + timedelta(days=n) for n in range((hi - lo).days + 1)]
            days = [d for d in run if d.weekday() not in calendar.week
                    or d in calendar.working_days]
            if days:
                notes.append(phrase("counts %(days)s (%(name)s)", days=Dates(
                    days=tuple(d.isoformat() for d in days), span=False,
                    english=", ".join(_day(d) for d in days)),
                    name=name or phrase("make-up working day")))
        else:
            span = _day(lo) if lo == hi else f"{lo.day}-{hi.day} {hi:%b}" \
                if lo.month == hi.month else f"{_day(lo)} - {_day(hi)}"
            notes.append(phrase("skips %(days)s (%(name)s)", days=Dates(
                days=(lo.isoformat(), hi.isoformat()) if lo != hi else (lo.isoformat(),),
                span=lo != hi, english=span), name=name or phrase("day off")))
    values = {"due": due.words(), "start": _moment(now, zone, year=True), "zone": calendar.zone,
              "calendar": calendar.label, "end": _moment(end, zone, year=True)}
    if start != now.astimezone(UTC):
        values["counted"] = _moment(start, zone)
    told = _told(notes, values)
    kept = len(notes)
    while len(told) > REASON_MAX and kept > 0:  # a long span: its last runs summed up
        kept -= 1
        told = _told([*notes[:kept], phrase("and %(count)s more", count=len(notes) - kept)],
                     values)
    return told


def _told(notes: list[Phrase], values: dict[str, Any]) -> Phrase:
    """``_basis``'s message with these notes (the days skipped and counted)."""
    if "counted" not in values:
        if notes:
            return phrase("%(due)s from %(start)s %(zone)s (%(calendar)s): %(notes)s → %(end)s",
                          notes=notes, **values)
        return phrase("%(due)s from %(start)s %(zone)s (%(calendar)s) → %(end)s", **values)
    if notes:
        return phrase("%(due)s from %(start)s %(zone)s (%(calendar)s), counted from "
                      "%(counted)s: %(notes)s → %(end)s", notes=notes, **values)
    return phrase("%(due)s from %(start)s %(zone)s (%(calendar)s), counted from %(counted)s "
                  "→ %(end)s", **values)


def due_in_working_time(due: WorkingDue, now: datetime, calendar: WorkingCalendar
                        ) -> tuple[datetime, Phrase]:
    """The due time ``due`` names at ``now`` in ``calendar`` (UTC), and how it was computed,
    a message (``_basis``) whose English is
    ``3 working days from Fri 30 Sep 2022 17:00 Asia/Shanghai (hq, CN): skips 1-7 Oct
    (National Day); counts Sat 8 Oct, Sun 9 Oct (make-up working day) → Mon 10 Oct 2022
    17:00``. In calendar hours a working day is 24 hours."""
    start = calendar.next_working_moment(now)
    if due.unit == "end-of-day":
        end = calendar.end_of_working_day(now)
    elif due.unit == "day":
        end = calendar.add_working_time(start, calendar.day_length * due.amount)
    else:
        end = calendar.add_working_time(start, timedelta(hours=due.amount))
    return end, _basis(due, now, start, end, calendar)
