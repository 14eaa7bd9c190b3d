"""Recurring management cycles: their periods, which runs were skipped, what is carried forward.

A cycle runs once per period: ``2026-11`` (monthly), ``2026-Q4`` (quarterly), ``2026-H2``
(half-yearly), ``2026`` (yearly). A run for a period that does not directly follow the last
run's period means the periods in between were skipped, and the new run says so. What a run
leaves open (an unanswered collection item, an unexplained overrun, a distributor without a
decision) goes onto the next run's agenda.

Pure: standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from mktflow.domain.errors import BadInput

__all__ = [
    "CYCLES",
    "PERIOD_PATTERN",
    "Cycle",
    "Frequency",
    "next_period",
    "period_bounds",
    "period_of",
    "previous_period",
    "skipped_between",
]


class Frequency(StrEnum):
    """How often a cycle runs."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half-yearly"
    YEARLY = "yearly"


_MONTHS_PER = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.HALF_YEARLY: 6,
               Frequency.YEARLY: 12}
#: Any period a cycle names: a year (2026), a half (2026-H2), a quarter (2026-Q4) or a month
#: (2026-11); a regular expression without anchors.
PERIOD_PATTERN = r"\d{4}(?:-(?:0[1-9]|1[0-2])|-Q[1-4]|-H[12])?"

_PATTERNS = {
    Frequency.MONTHLY: re.compile(r"^(\d{4})-(\d{2})$"),
    Frequency.QUARTERLY: re.compile(r"^(\d{4})-Q([1-4])$"),
    Frequency.HALF_YEARLY: re.compile(r"^(\d{4})-H([12])$"),
    Frequency.YEARLY: re.compile(r"^(\d{4})$"),
}


def _index(period: str, frequency: Frequency) -> int:
    """Periods counted from year 0, so neighbours differ by one."""
    match = _PATTERNS[frequency].match(period.strip())
    if not match:
        example = {Frequency.MONTHLY: "2026-11", Frequency.QUARTERLY: "2026-Q4",
                   Frequency.HALF_YEARLY: "2026-H2", Frequency.YEARLY: "2026"}[frequency]
        raise BadInput(f"period: {period!r} is not a {frequency} period (e.g. {example})")
    year = int(match[1])
    part = int(match[2]) if match.lastindex and match.lastindex > 1 else 1
    if frequency is Frequency.MONTHLY and not 1 <= part <= 12:
        raise BadInput(f"period: {period!r} has no month {part}")
    per_year = 12 // _MONTHS_PER[frequency]
    return year * per_year + part - 1


def _name(index: int, frequency: Frequency) -> str:
    per_year = 12 // _MONTHS_PER[frequency]
    year, part = divmod(index, per_year)
    part += 1
    names = {Frequency.MONTHLY: f"{year:04d}-{part:02d}",
             Frequency.QUARTERLY: f"{year:04d}-Q{part}",
             Frequency.HALF_YEARLY: f"{year:04d}-H{part}", Frequency.YEARLY: f"{year:04d}"}
    return names[frequency]


def period_of(day: date, frequency: Frequency) -> str:
    """The period ``day`` falls in."""
    per_year = 12 // _MONTHS_PER[frequency]
    return _name(day.year * per_year + (day.month - 1) // _MONTHS_PER[frequency], frequency)


def previous_period(period: str, frequency: Frequency) -> str:
    """The period before ``period``."""
    return _name(_index(period, frequency) - 1, frequency)


def next_period(period: str, frequency: Frequency) -> str:
    """The period after ``period``."""
    return _name(_index(period, frequency) + 1, frequency)


def period_bounds(period: str, frequency: Frequency) -> tuple[date, date]:
    """First day of ``period`` and first day of the next one."""
    index = _index(period, frequency)
    months = _MONTHS_PER[frequency]
    per_year = 12 // months

    def first_day(i: int) -> date:
        year, part = divmod(i, per_year)
        return date(year, part * months + 1, 1)

    return first_day(index), first_day(index + 1)


def skipped_between(last: str | None, current: str, frequency: Frequency) -> list[str]:
    """Periods after ``last`` and before ``current`` that had no run (none if ``last`` is None)."""
    if last is None:
        return []
    lo, hi = _index(last, frequency), _index(current, frequency)
    return [_name(i, frequency) for i in range(lo + 1, hi)]


@dataclass(frozen=True)
class Cycle:
    """A recurring management cycle: its name (also the flow's), frequency and default cron."""

    name: str
    frequency: Frequency
    cron: str
    what: str
    reviews_past_period: bool = True  # a review on Dec 1 is about November


#: Every recurring cycle; the deployments and the schedule table in docs/cycles.md follow it.
CYCLES: dict[str, Cycle] = {c.name: c for c in (
    Cycle("process-review", Frequency.MONTHLY, "0 6 1 * *",
          "handoff ledger between departments, slowest steps"),
    Cycle("market-research", Frequency.MONTHLY, "0 7 1 * *",
          "assign collection of findings, compile last month's, hand the report on",
          reviews_past_period=False),
    Cycle("budget-review", Frequency.MONTHLY, "0 6 2 * *",
          "budget lines against plan to date; overruns to their owners"),
    Cycle("performance-appraisal", Frequency.QUARTERLY, "0 6 5 1,4,7,10 *",
          "KPI actual vs target per member and department; heads sign"),
    Cycle("channel-evaluation", Frequency.QUARTERLY, "0 6 10 1,4,7,10 *",
          "score distributors; the marketing head decides on those below the bar"),
    Cycle("annual-planning", Frequency.YEARLY, "0 6 1 10,11,12 *",
          "collect next year's plan items; present/future balance and warnings",
          reviews_past_period=False),
    Cycle("quarterly-meeting", Frequency.QUARTERLY, "0 6 3 1,4,7,10 *",
          "the marketing meeting fixing the quarter's work plan: agenda, minutes approved by "
          "the head, sent to management and the departments named; each decision becomes work",
          reviews_past_period=False),
    Cycle("annual-meeting", Frequency.YEARLY, "0 6 15 12 *",
          "the marketing meeting fixing next year's work plan: agenda, minutes approved by the "
          "head, sent to management and the departments named; each decision becomes work",
          reviews_past_period=False),
    Cycle("training", Frequency.QUARTERLY, "0 6 15 1,4,7,10 *",
          "training needs from the appraisal; each department's plan, approved by its head; "
          "attendance"),
)}
