"""Dates a test writes, never taken from the calendar: counted from the day the test session
began on the process's clock (``mktflow.domain.clock``, read once when this module is first
imported, before any test freezes it).

One anchor for the whole session keeps a test's dates the same from its first line to its last,
even across midnight; a date one day or more ahead of it is still ahead when the session ends.
A test that needs "now" itself, or a calendar fact, uses the ``clock`` fixture instead.
"""

from __future__ import annotations

from datetime import date, timedelta

from mktflow.domain import clock

__all__ = ["SESSION_DAY", "date_ahead", "days_ahead"]

#: The day (UTC) the test session began.
SESSION_DAY: date = clock.today()


def date_ahead(days: int) -> date:
    """The date ``days`` days after ``SESSION_DAY``."""
    return SESSION_DAY + timedelta(days=days)


def days_ahead(days: int) -> str:
    """The same as an ISO date: ``"2031-03-01"``."""
    return date_ahead(days).isoformat()
