"""Money: exact decimals in the company currency, rounded half up to the cent in one place.

Every amount mktflow computes, stores, compares with a threshold or shows is a ``Decimal``
with two places, made by ``money``: ``money(1 * 2.675)`` is ``Decimal("2.68")`` (exact
arithmetic, round half up), where float rounding gave 2.67. Stored in ``Numeric(14, 2)``
columns on PostgreSQL and as whole cents on SQLite (``mktflow.store.types.MoneyType``): at
most 999,999,999,999.99 either way (``MONEY_MAX``).

In JSON (API bodies, ``--json``, audit data, flow results and artifacts, notices) an amount is
a number written from the exact decimal with at most two places (``money_json``): below
``MONEY_MAX`` a binary float prints back exactly those digits, so ``2.68`` reads as ``2.68``;
a client that must add amounts exactly parses them as decimals (e.g. Python's
``json.loads(..., parse_float=Decimal)``). Text shows them as ``1,234.50`` (``money_text``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from mktflow.domain.errors import BadInput
from mktflow.domain.words import on_field, phrase

__all__ = ["CENT", "MONEY_MAX", "ZERO", "exact", "money", "money_json", "money_sum", "money_text"]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
#: The largest amount a money column holds (14 digits, 2 after the point).
MONEY_MAX = Decimal("999999999999.99")


def exact(value: Any, field: str = "amount") -> Decimal:
    """``value`` as an exact, unrounded decimal (a float by its shortest repr): for factors such
    as a quantity or a unit price before the product is rounded once by ``money``. Raises
    BadInput naming ``field`` for a bool, NaN, an infinity or text that is no number."""
    if isinstance(value, bool) or value is None:
        raise BadInput(on_field(field, phrase("must be a number, got %(got)s",
                                              got=repr(value))))
    try:
        out = value if isinstance(value, Decimal) else Decimal(
            repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadInput(on_field(field, phrase("must be a number, got %(got)s",
                                              got=repr(value)))) from None
    if not out.is_finite():
        raise BadInput(on_field(field, phrase("must be a finite number, got %(got)s",
                                              got=repr(value))))
    return out


def money(value: Any, field: str = "amount") -> Decimal:
    """``value`` (int, str, float or Decimal) as an amount: rounded half up to the cent.

    A float is read by its shortest repr (``2.675`` is 2.675, not the binary
    2.67499999…). Raises BadInput naming ``field`` for a bool, NaN, an infinity, text that is
    no number, or an amount beyond ``MONEY_MAX``.
    """
    if isinstance(value, bool) or value is None:
        raise BadInput(on_field(field, phrase("must be an amount of money, got %(got)s",
                                              got=repr(value))))
    try:
        exact = value if isinstance(value, Decimal) else Decimal(
            repr(value) if isinstance(value, float) else str(value).strip())
    except (InvalidOperation, ValueError):
        raise BadInput(on_field(field, phrase("must be an amount of money, got %(got)s",
                                              got=repr(value)))) from None
    if not exact.is_finite():
        raise BadInput(on_field(field, phrase("must be a finite amount, got %(got)s",
                                              got=repr(value))))
    if abs(exact) >= MONEY_MAX + CENT / 2:
        raise BadInput(on_field(field, phrase("at most %(n)s in absolute value, got %(got)s",
                                              n=MONEY_MAX, got=repr(value))))
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


def money_sum(amounts: Iterable[Any]) -> Decimal:
    """The exact sum of ``amounts``, rounded once at the end."""
    total = Decimal(0)
    for a in amounts:
        total += a if isinstance(a, Decimal) else money(a)
    return money(total)


def money_json(value: Decimal | None) -> float | None:
    """An amount for JSON: a number whose shortest form is the amount's two-place digits."""
    return None if value is None else float(money(value))


def money_text(value: Decimal | float | int | None) -> str:
    """An amount for people: ``1,234.50`` (empty for None)."""
    return "" if value is None else f"{money(value):,.2f}"
