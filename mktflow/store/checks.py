"""The last gate before a row is written: every value against its column's declared limits.

The tables declare their limits once (``max_length`` from ``mktflow.domain.inputs``; a text
column without a length declares ``info={"max_length": ..., "multiline": ...}``, else it gets
``TEXT_MAX``). Before each flush, every new row and every changed value is checked with the
domain's rules (``check_text``, ``check_json``, finite numbers, integers the column holds,
times within range); a value that breaks one raises ``BadInput`` naming the column, so a door
answers 422 / exit 2 and the unit of work rolls back. Both databases refuse the same values:
SQLite no longer stores a 100,000-character title, PostgreSQL never reaches
``StringDataRightTruncation``.

Outbox messages are not checked: the engine builds them from values already checked here, and
the relay renders them for each channel (``mktflow.notify``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, Numeric, String, event, inspect
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlalchemy.types import TypeDecorator

from mktflow.domain.errors import BadInput
from mktflow.domain.inputs import (
    INT_MAX,
    TEXT_MAX,
    TIME_MAX,
    TIME_MIN,
    check_json,
    check_text,
)
from mktflow.store.types import UTCDateTime

__all__ = ["check_rows", "check_value", "install"]

_UNCHECKED_TABLES = frozenset({"outboxmessage"})
_INT32 = 2**31 - 1


def check_value(column: Any, value: Any, *, field: str) -> None:
    """Raise BadInput unless ``value`` fits ``column`` (its type and declared limits)."""
    if value is None:
        return
    try:
        checker = _CHECKERS[column]
    except KeyError:
        checker = _CHECKERS[column] = _checker_for(column)
    checker(value, field)


#: Each column's check, chosen once from its type (a flush checks every value of every row:
#: walking the type's classes for each value took about 7 % of a work item's life on SQLite,
#: by cProfile).
_CHECKERS: dict[Any, Callable[[Any, str], None]] = {}


def _checker_for(column: Any) -> Callable[[Any, str], None]:
    """The check of ``column``'s values, by its type; a value not of the type's own kind gets
    only the date check (as a date-typed value anywhere must be in range)."""
    kind = column.type
    if isinstance(kind, TypeDecorator) and not isinstance(kind, UTCDateTime):
        kind = kind.impl_instance  # SQLModel's AutoString is a VARCHAR underneath
    if isinstance(kind, String):
        info = column.info
        if kind.length is not None:
            top, multiline = kind.length, info.get("multiline", False)
        else:
            top, multiline = info.get("max_length", TEXT_MAX), info.get("multiline", True)

        def text(value: Any, field: str) -> None:
            if isinstance(value, str):
                check_text(value, field=field, max_length=top, multiline=multiline)
            else:
                _date_in_range(value, field)
        return text
    if isinstance(kind, JSON):
        return lambda value, field: check_json(value, field=field)
    if isinstance(kind, Float | Numeric):
        def number(value: Any, field: str) -> None:
            if isinstance(value, float | Decimal):
                finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
                if not finite:
                    raise BadInput(f"{field}: must be a finite number, got {value}")
            else:
                _date_in_range(value, field)
        return number
    if isinstance(kind, Integer):
        bound = INT_MAX if isinstance(kind, BigInteger) else _INT32

        def integer(value: Any, field: str) -> None:
            if isinstance(value, int) and not isinstance(value, bool):
                if not -bound - 1 <= value <= bound:
                    raise BadInput(f"{field}: must be between {-bound - 1} and {bound}, "
                                   f"got {value}")
            else:
                _date_in_range(value, field)
        return integer
    if isinstance(kind, UTCDateTime):
        def moment(value: Any, field: str) -> None:
            if isinstance(value, datetime) and value.tzinfo:
                _in_range(value, TIME_MIN, TIME_MAX, field=field)
            else:
                _date_in_range(value, field)
        return moment
    return _date_in_range


def _date_in_range(value: Any, field: str) -> None:
    if isinstance(value, date) and not isinstance(value, datetime):
        _in_range(value, TIME_MIN.date(), TIME_MAX.date(), field=field)


def _in_range(value: Any, low: Any, high: Any, *, field: str) -> None:
    if not low <= value < high:
        raise BadInput(f"{field}: {value} is out of range (between {low:%Y-%m-%d} and "
                       f"{high:%Y-%m-%d} UTC)")


def _check_row(obj: Any, *, new: bool) -> None:
    state = inspect(obj)
    mapper = state.mapper
    if mapper.local_table.name in _UNCHECKED_TABLES:
        return
    for attr in mapper.column_attrs:
        if not new and not state.attrs[attr.key].history.has_changes():
            continue
        for column in attr.columns:
            check_value(column, getattr(obj, attr.key), field=attr.key)


def check_rows(table: Any, rows: list[dict[str, Any]]) -> None:
    """Check rows written with Core (``UnitOfWork.commit``'s audit entries and changed rows)
    as a flush checks ORM rows: each value against its column. Raises BadInput naming the
    column."""
    if table.name in _UNCHECKED_TABLES:
        return
    for row in rows:
        for name, value in row.items():
            check_value(table.c[name], value, field=name)


def _before_flush(session: OrmSession, _flush: UOWTransaction, _instances: Any) -> None:
    for obj in session.new:
        _check_row(obj, new=True)
    for obj in session.dirty:
        _check_row(obj, new=False)


def install() -> None:
    """Check every row every ORM session of this process flushes (idempotent)."""
    if not event.contains(OrmSession, "before_flush", _before_flush):
        event.listen(OrmSession, "before_flush", _before_flush)
