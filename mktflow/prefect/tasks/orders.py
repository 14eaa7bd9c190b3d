"""Tasks of the order-handling flow: each wraps one engine handler (order, credit, stages)."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.config import get_settings
from mktflow.domain.money import money_json
from mktflow.engine import orders
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = [
    "advance",
    "credit_check",
    "record_order",
    "update_customer_file",
]


@task(name="record-order", **ENGINE_TASK)
def record_order(process_id: int, number: str, entry: dict[str, Any], contact: str | None,
                 sales: str, branch: str | None, actor: str) -> int:
    """Sales records (or revises) the order."""
    order = orders.record_order(
        uow(), process_id=process_id, number=number,
        customer={"code": entry["customer_code"], "name": entry["customer_name"],
                  "contact_email": contact},
        lines=entry["lines"], delivery_date=date.fromisoformat(entry["delivery_date"]),
        sales_email=sales, branch=branch, actor_email=actor)
    assert order.id is not None
    return order.id


@task(name="credit-check", **ENGINE_TASK)
def credit_check(order_id: int, attempt: int) -> dict[str, Any]:
    """Auto-approve small orders of customers in good standing; else a person decides."""
    return orders.credit_check_for(uow(), order_id,
                                   auto_limit=get_settings().credit_auto_approve_limit)


@task(name="advance-order", **ENGINE_TASK)
def advance(order_id: int, action: str, actor: str, data: dict[str, Any] | None = None,
            reason: str | None = None) -> str:
    """Record one stage of the order."""
    return orders.advance(uow(), order_id, action, actor_email=actor, data=data,
                          reason=reason).status


@task(name="update-customer-file", **ENGINE_TASK)
def update_customer_file(order_id: int, actor: str) -> dict[str, Any]:
    """Close the order into the customer's file."""
    c = orders.update_customer_file(uow(), order_id, actor_email=actor)
    return {"customer": c.code, "orders": c.orders_count,
            "total_ordered": money_json(c.total_ordered),
            "last_satisfaction": c.last_satisfaction, "standing": c.standing}
