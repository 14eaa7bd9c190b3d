"""Field helpers of every table module: UTC timestamps and JSON columns on both databases.

Every table module imports this one, so importing it also installs the row check
(``mktflow.store.checks``) on every ORM session: any flush of a mktflow row is checked, whether
or not it goes through a ``UnitOfWork`` (which installs it too, when its session begins). A
process that only reads through Core never imports the ORM, nor the check.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from mktflow.domain import clock
from mktflow.store import checks
from mktflow.store.types import MoneyType, UTCDateTime

__all__ = ["created_field", "json_field", "money_field", "text_field", "timestamp_field"]

checks.install()  # a table model's rows are checked against their limits before every flush


def created_field() -> Any:
    """A required timestamp that defaults to now on the process's clock (UTC)."""
    return Field(default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False))


def timestamp_field() -> Any:
    """An optional UTC timestamp."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def json_field(default: Any = None) -> Any:
    """A JSON column; with a default factory (``list``, ``dict``) it is required."""
    factory = (lambda: None) if default is None else default
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=default is None))


def text_field(max_length: int, *, default: str | None = None) -> Any:
    """A multi-line text column (line breaks allowed) of at most ``max_length`` characters.

    The limit is declared on the column (``info``), not in its DDL, and enforced before every
    flush (``mktflow.store.checks``) on both databases.
    """
    return Field(default=default,
                 sa_column_kwargs={"info": {"max_length": max_length, "multiline": True}})


def money_field(*, nullable: bool = False) -> Any:
    """An amount of money (Decimal, two places; see ``MoneyType``); required ones default
    to 0.00."""
    if nullable:
        return Field(default=None, sa_column=Column(MoneyType(), nullable=True))
    return Field(default=Decimal("0.00"), sa_column=Column(MoneyType(), nullable=False))
