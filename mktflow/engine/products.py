"""Command handlers for new products: the proposal (with the project's budget lines), what each
stage establishes, and the product's status. Each in one unit of work with audit."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from mktflow.domain.errors import Conflict, NotFound
from mktflow.domain.money import money
from mktflow.domain.products import ResourceLine
from mktflow.domain.words import phrase
from mktflow.engine.common import actor_for, ref_of
from mktflow.store.tables import BudgetLine, Plan, Product
from mktflow.store.uow import UnitOfWork

__all__ = ["budget_line_id", "record_proposal", "record_stage", "resources_of", "set_status"]


def _product(uow: UnitOfWork, product_id: int) -> Product:
    row = uow.session.get(Product, product_id, with_for_update=True)
    if row is None:
        raise NotFound(phrase("product %(number)s does not exist", number=product_id))
    return row


def record_proposal(
    uow: UnitOfWork,
    *,
    process_id: int,
    code: str,
    name: str,
    proposal: dict[str, Any],
    budget_lines: list[dict[str, Any]],
    owner_email: str,
    actor_email: str,
) -> Product:
    """Record marketing's proposal; a revised proposal (rework) updates the same product.

    ``budget_lines`` are [{code, title, department, amount}]: what the project needs, to be
    allocated by finance before launch (the resource guarantee).
    """
    with uow:
        actor = actor_for(uow, actor_email)
        product = uow.session.exec(select(Product).where(col(Product.code) == code)).first()
        if product is not None and product.process_id != process_id:
            owner = ref_of("process", product.process_id)
            raise Conflict(f"product {code} belongs to another process ({owner})")
        if product is None:
            plan = Plan(code=f"product-{code}", title=f"New product {name}", kind="product",
                        horizon="future", department="marketing", owner_email=owner_email,
                        status="draft", process_id=process_id, created_at=uow.now(),
                        updated_at=uow.now())
            uow.session.add(plan)
            uow.session.flush()
            product = Product(code=code, name=name, process_id=process_id, plan_id=plan.id,
                              owner_email=owner_email, created_at=uow.now())
        product.market_need = proposal["market_need"]
        product.target_customers = proposal["target_customers"]
        product.positioning = proposal["positioning"]
        product.forecast_units = proposal["forecast_units"]
        revenue = proposal.get("forecast_revenue")
        product.forecast_revenue = None if revenue is None else money(revenue,
                                                                     "forecast_revenue")
        product.stage, product.updated_at = "proposed", uow.now()
        uow.session.add(product)
        uow.session.flush()
        existing = {b.code: b for b in uow.session.exec(select(BudgetLine).where(
            col(BudgetLine.plan_id) == product.plan_id))}
        for b in budget_lines:
            line = existing.get(b["code"]) or BudgetLine(
                plan_id=product.plan_id, code=b["code"], title=b["title"],
                department=b["department"], owner_email=owner_email, created_at=uow.now())
            line.planned, line.updated_at = money(b["amount"], "budget_lines: amount"), uow.now()
            uow.session.add(line)
        assert product.id is not None
        uow.audit(actor=actor.email, entity_type="product", entity_id=product.id,
                  process_id=process_id, action="propose", to_state=product.stage,
                  data=proposal)
        uow.commit()
        return product


def record_stage(uow: UnitOfWork, product_id: int, *, stage: str, facts: dict[str, Any],
                 actor_email: str) -> Product:
    """Record what a stage established (design, trial run, unit cost, lead times ...)."""
    with uow:
        actor = actor_for(uow, actor_email)
        product = _product(uow, product_id)
        before = product.stage
        product.facts = {**product.facts, stage: {**product.facts.get(stage, {}), **facts}}
        if "unit_cost" in facts and facts["unit_cost"] is not None:
            product.unit_cost = money(facts["unit_cost"], "unit_cost")
        product.stage, product.updated_at = stage, uow.now()
        uow.session.add(product)
        uow.audit(actor=actor.email, entity_type="product", entity_id=product_id,
                  process_id=product.process_id, action="stage", from_state=before,
                  to_state=stage, data=facts)
        uow.commit()
        return product


def set_status(uow: UnitOfWork, product_id: int, *, status: str, actor_email: str,
               reason: str | None = None) -> Product:
    """Mark the product launched, stopped or rejected."""
    with uow:
        actor = actor_for(uow, actor_email)
        product = _product(uow, product_id)
        before = product.status
        product.status, product.updated_at = status, uow.now()
        uow.session.add(product)
        if product.plan_id is not None:
            plan = uow.session.get(Plan, product.plan_id)
            if plan is not None:
                plan.status = {"active": "approved"}.get(status, status)
                uow.session.add(plan)
        uow.audit(actor=actor.email, entity_type="product", entity_id=product_id,
                  process_id=product.process_id, action="status", from_state=before,
                  to_state=status, reason=reason)
        uow.commit()
        return product


def resources_of(uow: UnitOfWork, product_id: int) -> list[ResourceLine]:
    """The project's budget lines as the resource guarantee reads them."""
    with uow:
        product = uow.session.get(Product, product_id)
        if product is None:
            raise NotFound(phrase("product %(number)s does not exist", number=product_id))
        return [ResourceLine(b.code, b.title, b.planned, b.allocated)
                for b in uow.session.exec(select(BudgetLine).where(
                    col(BudgetLine.plan_id) == product.plan_id).order_by(col(BudgetLine.code)))]


def budget_line_id(uow: UnitOfWork, product_id: int, code: str) -> int:
    """The id of the project's budget line ``code``; refuses an unknown code, naming the known."""
    from mktflow.domain.errors import BadInput

    with uow:
        product = uow.session.get(Product, product_id)
        if product is None:
            raise NotFound(phrase("product %(number)s does not exist", number=product_id))
        lines = {b.code: b.id for b in uow.session.exec(select(BudgetLine).where(
            col(BudgetLine.plan_id) == product.plan_id))}
        if code not in lines:
            raise BadInput(f"allocations: the project has no budget line {code!r} "
                           f"(it has {', '.join(sorted(lines))})")
        line_id = lines[code]
        assert line_id is not None
        return line_id
