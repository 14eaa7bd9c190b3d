"""Daily digests: when a member's digest is due, what counts as due soon, and its key.

A member chooses how they are told of changes addressed to them personally (issue 24, item 6;
docs: "Daily digests"): ``each`` (one notice per change, as mktflow always did) or ``daily``
(those notices are held in the outbox and one digest a working day summarises them with the
member's open, due-soon and overdue items and handoffs). The digest is due at the chosen time
of day (``at``, minutes after local midnight) in the zone of the member's working calendar, on
the calendar's working days only; it goes out at most once a day (``digest_id``).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta
from enum import StrEnum

from mktflow.domain.calendars import WorkingCalendar
from mktflow.domain.errors import BadInput
from mktflow.domain.words import on_field, phrase

__all__ = [
    "DEFAULT_AT",
    "DIGESTED",
    "DIGEST_EVENT",
    "HELD",
    "DigestMode",
    "digest_day",
    "digest_id",
    "digest_mode",
    "due_soon_until",
    "format_at",
    "parse_at",
]

#: The outbox statuses of a notice held for a daily digest, and of one the digest summarised.
HELD = "held"
DIGESTED = "digested"
#: The outbox event of a member's daily digest.
DIGEST_EVENT = "digest.daily"
#: The time of day a digest is sent at when the member gives none: 17:00, before the working
#: day's end (the default working day ends at 18:00).
DEFAULT_AT = 17 * 60


class DigestMode(StrEnum):
    """How a member is told of the changes addressed to them personally."""

    EACH = "each"  # one notice per change, at once
    DAILY = "daily"  # held, and one digest per working day at the chosen time


def digest_mode(raw: str | None) -> DigestMode:
    """``each`` or ``daily`` (any case, spaces trimmed); BadInput naming ``mode`` otherwise."""
    text = (raw or "").strip().lower()
    try:
        return DigestMode(text)
    except ValueError:
        raise BadInput(on_field("mode", phrase(
            "%(typed)s is not a digest mode (each: one notice per change; daily: one digest a "
            "working day)", typed=repr(str(raw)[:40])))) from None


def parse_at(raw: str | None) -> int:
    """A time of day ``HH:MM`` (00:00 to 23:59) as minutes after midnight; None or empty: the
    default (17:00). BadInput naming ``at`` and the rule otherwise."""
    text = (raw or "").strip()
    if not text:
        return DEFAULT_AT
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise BadInput(on_field("at", phrase(
            "%(typed)s is not a time of day (HH:MM, 00:00 to 23:59, in your working "
            "calendar's time zone)", typed=repr(text[:20]))))
    return int(match.group(1)) * 60 + int(match.group(2))


def format_at(minutes: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def digest_day(calendar: WorkingCalendar, at: int, now: datetime) -> date | None:
    """The local day whose digest is due at ``now`` (timezone-aware): today in the calendar's
    zone when today is a working day and its clock has reached ``at``; None otherwise (before
    the time, or a day off: a weekend, a public holiday, a company day off)."""
    local = now.astimezone(calendar.tz)
    if not calendar.is_working_day(local.date()):
        return None
    if local.hour * 60 + local.minute < at:
        return None
    return local.date()


def due_soon_until(calendar: WorkingCalendar, day: date) -> datetime:
    """Until when (UTC) something due counts as *due soon* in ``day``'s digest: the end of the
    next working day after ``day`` (Friday's digest names what is due by Monday's end)."""
    for ahead in range(1, 400):
        later = day + timedelta(days=ahead)
        if calendar.is_working_day(later):
            return calendar.hours_of(later)[1]
    return calendar.hours_of(day + timedelta(days=1))[1]


def digest_id(member: str, day: date, channel_id: int | None) -> str:
    """The outbox id (and Idempotency-Key) of ``member``'s digest of ``day`` through one
    channel: the same every time, so a second run the same day writes nothing new."""
    digest = hashlib.sha256(f"{member.lower()}|{day.isoformat()}|{channel_id}".encode())
    return f"digest-{day:%Y%m%d}-{digest.hexdigest()[:16]}"
