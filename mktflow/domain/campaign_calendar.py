"""The campaign calendar's periods and feed window: pure date rules.

A calendar page shows one month (``2026-05``) or one quarter (``2026-Q2``); a period is a
half-open range of dates ``[start, end)``. The iCalendar feed covers ``FEED_DAYS_BACK`` days
before today through ``FEED_DAYS_AHEAD`` days after it. Source: issue 24, item 4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from mktflow.domain.errors import BadInput
from mktflow.domain.words import on_field, phrase

__all__ = ["FEED_DAYS_AHEAD", "FEED_DAYS_BACK", "MONTH_PATTERN", "QUARTER_PATTERN", "Period",
           "feed_window", "period_of"]

#: Days before today the feed still lists (a calendar client keeps the past it saw).
FEED_DAYS_BACK = 30
#: Days after today the feed lists (two quarters: a campaign is planned within them).
FEED_DAYS_AHEAD = 180

#: The years a period may be of: four digits, from 1000 to 9998 (a period has a next one).
YEAR_PATTERN = r"(?:1[0-9]{3}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
#: A month: ``2026-05``.
MONTH_PATTERN = YEAR_PATTERN + r"-(?:0[1-9]|1[0-2])"
#: A quarter: ``2026-Q2`` (or ``2026-q2``).
QUARTER_PATTERN = YEAR_PATTERN + r"-[Qq][1-4]"


@dataclass(frozen=True)
class Period:
    """A calendar page's dates: ``start`` inclusive, ``end`` exclusive; ``label`` as asked
    (``2026-05``, ``2026-Q2``); ``kind`` month or quarter; ``previous`` and ``next`` the
    labels of the neighbouring periods of the same kind."""

    kind: str
    label: str
    start: date
    end: date
    previous: str
    next: str

    def days(self) -> list[date]:
        """Every date of the period, in order."""
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days)]


def _month_start(year: int, month: int) -> date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, 1)


def _month(year: int, month: int) -> Period:
    start, end = _month_start(year, month), _month_start(year, month + 1)
    before = _month_start(year, month - 1)
    return Period("month", f"{year:04d}-{month:02d}", start, end,
                  f"{before.year:04d}-{before.month:02d}", f"{end.year:04d}-{end.month:02d}")


def _quarter(year: int, quarter: int) -> Period:
    start = _month_start(year, 3 * quarter - 2)
    end = _month_start(year, 3 * quarter + 1)
    before = _month_start(year, 3 * quarter - 5)
    return Period("quarter", f"{year:04d}-Q{quarter}", start, end,
                  f"{before.year:04d}-Q{(before.month - 1) // 3 + 1}",
                  f"{end.year:04d}-Q{(end.month - 1) // 3 + 1}")


def period_of(*, month: str | None = None, quarter: str | None = None,
              today: date) -> Period:
    """The period a page asks for: ``month`` ``YYYY-MM`` or ``quarter`` ``YYYY-Qn`` (not
    both); neither: the month of ``today``.

    Raises BadInput naming the field and its rule (``month: 2026-13 is not a month``).
    """
    if month and quarter:
        raise BadInput(on_field("month, quarter", phrase(
            "ask for a month or a quarter, not both")))
    if quarter:
        if re.fullmatch(QUARTER_PATTERN, quarter.strip()) is None:
            raise BadInput(on_field("quarter", phrase(
                "%(given)s is not a quarter (YYYY-Qn, n from 1 to 4, e.g. 2026-Q2)",
                given=repr(quarter[:20]))))
        return _quarter(int(quarter.strip()[:4]), int(quarter.strip()[-1]))
    if month:
        if re.fullmatch(MONTH_PATTERN, month.strip()) is None:
            raise BadInput(on_field("month", phrase(
                "%(given)s is not a month (YYYY-MM, MM from 01 to 12, e.g. 2026-05)",
                given=repr(month[:20]))))
        return _month(int(month.strip()[:4]), int(month.strip()[5:7]))
    return _month(today.year, today.month)


def feed_window(today: date) -> tuple[date, date]:
    """The dates the feed covers: ``[today - FEED_DAYS_BACK, today + FEED_DAYS_AHEAD]``
    as a half-open range (start, end)."""
    return today - timedelta(days=FEED_DAYS_BACK), today + timedelta(days=FEED_DAYS_AHEAD + 1)
