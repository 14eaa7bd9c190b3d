"""Order rules: totals, the credit check, and the order's states as a table of transitions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from mktflow.domain.errors import TransitionRefused
from mktflow.domain.money import exact, money
from mktflow.domain.words import phrase, word

__all__ = [
    "ORDER_RULES",
    "CreditCheck",
    "CreditOutcome",
    "OrderLineFigures",
    "OrderStatus",
    "Standing",
    "credit_check",
    "next_status",
    "order_total",
]


class Standing(StrEnum):
    """How a customer stands with finance."""

    GOOD = "good"
    WATCH = "watch"  # late payments: a person decides on credit
    BLOCKED = "blocked"  # no credit: a person decides (prepayment, or reject)


class OrderStatus(StrEnum):
    """Where an order stands."""

    RECORDED = "recorded"
    CREDIT_APPROVED = "credit_approved"
    SCHEDULED = "scheduled"
    SHIPPED = "shipped"
    INVOICED = "invoiced"
    FOLLOWED_UP = "followed_up"
    CLOSED = "closed"
    REJECTED = "rejected"


S = OrderStatus
_OPEN = frozenset({S.RECORDED, S.CREDIT_APPROVED, S.SCHEDULED, S.SHIPPED, S.INVOICED,
                   S.FOLLOWED_UP})

#: action -> (from states, to state, why)
ORDER_RULES: dict[str, tuple[frozenset[str], str, str]] = {
    "revise": (frozenset({S.RECORDED}), S.RECORDED,
               "sales corrects the order before credit is granted"),
    "approve_credit": (frozenset({S.RECORDED}), S.CREDIT_APPROVED,
                       "finance grants credit (or it is granted automatically)"),
    "schedule": (frozenset({S.CREDIT_APPROVED}), S.SCHEDULED,
                 "production schedules the order or confirms stock"),
    "ship": (frozenset({S.SCHEDULED}), S.SHIPPED, "supply ships with carrier and tracking"),
    "invoice": (frozenset({S.SHIPPED}), S.INVOICED, "finance invoices what was shipped"),
    "follow_up": (frozenset({S.INVOICED}), S.FOLLOWED_UP,
                  "customer service asks the customer and handles complaints"),
    "close": (frozenset({S.FOLLOWED_UP}), S.CLOSED, "the customer file is updated"),
    "reject": (_OPEN, S.REJECTED, "any stage may end the order, with a reason"),
}


def next_status(status: str, action: str) -> str:
    """The status after ``action``; refuses naming the order's status and the action."""
    if action not in ORDER_RULES:
        raise TransitionRefused(f"unknown order action {action!r}")
    sources, target, _why = ORDER_RULES[action]
    if status not in sources:
        allowed = " or ".join(sorted(sources))
        raise TransitionRefused(f"cannot {action.replace('_', ' ')} an order that is {status}: "
                                f"allowed only when {allowed}")
    return target


@dataclass(frozen=True)
class OrderLineFigures:
    """One order line's quantity and unit price."""

    quantity: Decimal | float | int
    unit_price: Decimal | float | int


def order_total(lines: Iterable[OrderLineFigures]) -> Decimal:
    """The order's value: each quantity x unit price exactly, summed, then rounded once half up
    to the cent (``money``): 1 x 2.675 is 2.68."""
    total = sum((exact(line.quantity, "quantity") * exact(line.unit_price, "unit_price")
                 for line in lines), Decimal(0))
    return money(total, "total")


class CreditOutcome(StrEnum):
    """What the credit check concludes."""

    AUTO_APPROVED = "auto_approved"
    NEEDS_DECISION = "needs_decision"


@dataclass(frozen=True)
class CreditCheck:
    """The credit check's outcome and why."""

    outcome: CreditOutcome
    reason: str


def credit_check(*, total: Decimal, standing: str, auto_limit: Decimal | float) -> CreditCheck:
    """Auto-approve below the limit for customers in good standing; else a person decides.
    Both amounts are compared exactly, to the cent."""
    total, auto_limit = money(total, "total"), money(auto_limit, "auto_limit")
    if standing != Standing.GOOD:
        return CreditCheck(CreditOutcome.NEEDS_DECISION, phrase(
            "customer standing is %(standing)s: a person decides", standing=word(standing)))
    if total >= auto_limit:
        return CreditCheck(CreditOutcome.NEEDS_DECISION, phrase(
            "order total %(total)s is not below the auto-approval limit %(limit)s: a person "
            "decides", total=total, limit=auto_limit))
    return CreditCheck(CreditOutcome.AUTO_APPROVED, phrase(
        "good standing and %(total)s below the limit %(limit)s", total=total, limit=auto_limit))
