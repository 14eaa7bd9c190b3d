"""Typed values read from text input (CLI options, API fields): ISO 8601 times and dates.

Pure standard library; a value that does not parse raises ``BadInput`` naming the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from mktflow.domain.errors import BadInput

__all__ = ["parse_date", "parse_time"]


def parse_time(raw: str | None, *, field: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is UTC; a date alone means the end of that day."""
    if raw is None:
        return None
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{field}: {raw!r} is not an ISO 8601 time "
                       "(e.g. 2026-12-01 or 2026-12-01T17:00+01:00)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_date(raw: str | None, *, field: str) -> date | None:
    """An ISO 8601 date (YYYY-MM-DD)."""
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise BadInput(f"{field}: {raw!r} is not a date (YYYY-MM-DD)") from None
