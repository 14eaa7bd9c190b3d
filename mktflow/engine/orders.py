"""Command handlers for orders and customer files: intake, each stage's record, rejection,
and the customer file update. Order states follow ``mktflow.domain.orders.ORDER_RULES``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import col, select

from mktflow.domain.errors import BadInput, Conflict, NotFound
from mktflow.domain.money import money, money_json
from mktflow.domain.orders import (
    ORDER_RULES,
    OrderLineFigures,
    OrderStatus,
    next_status,
    order_total,
)
from mktflow.domain.words import phrase
from mktflow.engine.common import actor_for, ref_of
from mktflow.store.tables import Customer, SalesOrder
from mktflow.store.uow import UnitOfWork

__all__ = ["advance", "credit_check_for", "record_order", "update_customer_file"]

#: Which order field keeps what each stage recorded.
_FIELD = {"approve_credit": "credit", "schedule": "fulfilment", "ship": "shipment",
          "invoice": "invoice", "follow_up": "follow_up"}


def _order(uow: UnitOfWork, order_id: int) -> SalesOrder:
    row = uow.session.get(SalesOrder, order_id, with_for_update=True)
    if row is None:
        raise NotFound(phrase("order %(number)s does not exist", number=order_id))
    return row


def record_order(
    uow: UnitOfWork,
    *,
    process_id: int,
    number: str,
    customer: dict[str, Any],
    lines: list[dict[str, Any]],
    delivery_date: date,
    sales_email: str,
    branch: str | None,
    actor_email: str,
) -> SalesOrder:
    """Sales records the order (a revision replaces lines and date before credit is granted).

    ``customer`` is {code, name, contact_email?}: an unknown code opens a customer file in
    good standing.
    """
    if not lines:
        raise BadInput("lines: an order needs at least one line")
    total = order_total(OrderLineFigures(x["quantity"], x["unit_price"]) for x in lines)
    with uow:
        actor = actor_for(uow, actor_email)
        cust = uow.session.exec(select(Customer).where(
            col(Customer.code) == customer["code"])).first()
        if cust is None:
            cust = Customer(code=customer["code"], name=customer.get("name") or customer["code"],
                            contact_email=customer.get("contact_email"), branch=branch,
                            created_at=uow.now(), updated_at=uow.now())
            uow.session.add(cust)
            uow.session.flush()
        order = uow.session.exec(select(SalesOrder).where(
            col(SalesOrder.number) == number)).first()
        if order is not None and order.process_id != process_id:
            owner = ref_of("process", order.process_id)
            raise Conflict(f"order {number} belongs to another process ({owner})")
        action = "record"
        if order is None:
            order = SalesOrder(number=number, customer_id=cust.id or 0, process_id=process_id,
                               branch=branch, sales_email=sales_email,
                               status=OrderStatus.RECORDED, created_at=uow.now())
        else:
            order.status = next_status(order.status, "revise")
            action = "revise"
        order.customer_id = cust.id or 0
        order.lines, order.total, order.delivery_date = lines, total, delivery_date
        order.updated_at = uow.now()
        uow.session.add(order)
        uow.session.flush()
        assert order.id is not None
        uow.audit(actor=actor.email, entity_type="order", entity_id=order.id,
                  process_id=process_id, action=action, to_state=order.status,
                  data={"total": total, "customer": cust.code})
        uow.commit()
        return order


def advance(uow: UnitOfWork, order_id: int, action: str, *, actor_email: str,
            data: dict[str, Any] | None = None, reason: str | None = None) -> SalesOrder:
    """Apply one order stage (see ORDER_RULES); a repeat of a stage already applied is a no-op."""
    with uow:
        order = _order(uow, order_id)
        _sources, target, _why = ORDER_RULES.get(action, (frozenset(), "", ""))
        if target and order.status == target and action not in ("revise",):
            return order  # a flow re-run after resume applies the same stage again
        actor = actor_for(uow, actor_email)
        if action == "reject" and not (reason and reason.strip()):
            raise BadInput("reason: rejecting an order needs a reason")
        before = order.status
        order.status = next_status(order.status, action)
        if action in _FIELD:
            setattr(order, _FIELD[action], data or {})
        if reason:
            order.reason = reason.strip()
        order.updated_at = uow.now()
        uow.session.add(order)
        uow.audit(actor=actor.email, entity_type="order", entity_id=order_id,
                  process_id=order.process_id, action=action, from_state=before,
                  to_state=order.status, reason=reason, data=data)
        uow.commit()
        return order


def update_customer_file(uow: UnitOfWork, order_id: int, *, actor_email: str) -> Customer:
    """Close the order and add it to the customer's file (history, totals, satisfaction)."""
    with uow:
        order = _order(uow, order_id)
        cust = uow.session.get(Customer, order.customer_id, with_for_update=True)
        assert cust is not None
        if order.status == OrderStatus.CLOSED:
            return cust
        actor = actor_for(uow, actor_email)
        before = order.status
        order.status = next_status(order.status, "close")
        follow = order.follow_up or {}
        cust.orders_count += 1
        cust.total_ordered = money(cust.total_ordered + order.total)
        cust.last_order_at = uow.now()
        cust.last_satisfaction = follow.get("satisfaction")
        cust.history = [*cust.history, {
            "order": order.number, "total": money_json(order.total), "at": uow.now().isoformat(),
            "satisfaction": follow.get("satisfaction"), "complaint": follow.get("complaint"),
        }]
        cust.updated_at = order.updated_at = uow.now()
        uow.session.add(cust)
        uow.session.add(order)
        assert cust.id is not None
        uow.audit(actor=actor.email, entity_type="order", entity_id=order_id,
                  process_id=order.process_id, action="close", from_state=before,
                  to_state=order.status)
        uow.audit(actor=actor.email, entity_type="customer", entity_id=cust.id,
                  process_id=order.process_id, action="order", data={"order": order.number})
        uow.commit()
        return cust


def credit_check_for(uow: UnitOfWork, order_id: int, *,
                     auto_limit: Decimal | float) -> dict[str, Any]:
    """The credit check of an order from its total and its customer's standing (reads only)."""
    from mktflow.domain.orders import credit_check

    with uow:
        order = uow.session.get(SalesOrder, order_id)
        if order is None:
            raise NotFound(phrase("order %(number)s does not exist", number=order_id))
        cust = uow.session.get(Customer, order.customer_id)
        assert cust is not None
        check = credit_check(total=order.total, standing=cust.standing, auto_limit=auto_limit)
        return {"outcome": str(check.outcome), "reason": check.reason, "total": order.total,
                "standing": cust.standing, "customer": cust.code, "limit": money(auto_limit)}
