"""Tasks of the new-product flow: each wraps one engine handler (proposal, stages, budget)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.domain.products import ResourceLine
from mktflow.engine import budget, products
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = [
    "allocate",
    "record_proposal",
    "record_stage",
    "resources_of",
    "set_status",
]


@task(name="record-proposal", **ENGINE_TASK)
def record_proposal(process_id: int, code: str, name: str, proposal: dict[str, Any],
                    lines: list[dict[str, Any]], owner: str, actor: str) -> int:
    """Record marketing's proposal and the project's budget lines."""
    product = products.record_proposal(uow(), process_id=process_id, code=code, name=name,
                                       proposal=proposal, budget_lines=lines,
                                       owner_email=owner, actor_email=actor)
    assert product.id is not None
    return product.id


@task(name="record-stage", **ENGINE_TASK)
def record_stage(product_id: int, stage: str, facts: dict[str, Any], actor: str) -> None:
    """Record what a stage established."""
    products.record_stage(uow(), product_id, stage=stage, facts=facts, actor_email=actor)


@task(name="set-product-status", **ENGINE_TASK)
def set_status(product_id: int, status: str, actor: str, reason: str | None = None) -> None:
    """Mark the product active, launched, stopped or rejected."""
    products.set_status(uow(), product_id, status=status, actor_email=actor, reason=reason)


@task(name="allocate-project-line", **ENGINE_TASK)
def allocate(product_id: int, code: str, amount: Decimal | float, actor: str,
             process_id: int) -> Decimal:
    """Finance allocates one of the project's budget lines."""
    line_id = products.budget_line_id(uow(), product_id, code)
    return budget.allocate(uow(), line_id, amount=amount, actor_email=actor,
                           process_id=process_id).allocated


def resources_of(product_id: int) -> list[ResourceLine]:
    """The project's budget lines as they stand: planned and allocated (a read, never cached)."""
    return products.resources_of(uow(), product_id)
