"""Tasks of the campaign flow: each wraps one engine handler (plans, status, spend, reports)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.engine import budget, campaigns
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = [
    "allocate",
    "figures",
    "record_activity",
    "record_actuals",
    "record_evaluation",
    "record_plan",
    "record_spend",
    "set_status",
]


@task(name="record-plan", **ENGINE_TASK)
def record_plan(process_id: int, code: str, plan: dict[str, Any], actor: str, owner: str,
                branch: str | None) -> int:
    """Record (or revise) the campaign plan with its KPIs, activities and budget lines."""
    camp = campaigns.record_plan(uow(), process_id=process_id, code=code, plan=plan,
                                 actor_email=actor, owner_email=owner, branch=branch)
    assert camp.id is not None
    return camp.id


@task(name="set-campaign-status", **ENGINE_TASK)
def set_status(campaign_id: int, status: str, actor: str, reason: str | None = None,
               approved_amount: Decimal | float | None = None,
               matrix_version: str | None = None) -> str:
    """Move the campaign on (approved: its budget lines are allocated)."""
    return campaigns.set_status(uow(), campaign_id, status=status, actor_email=actor,
                                reason=reason, approved_amount=approved_amount,
                                matrix_version=matrix_version).status


@task(name="record-spend", **ENGINE_TASK)
def record_spend(line_id: int, amount: Decimal | float, key: str, actor: str, note: str,
                 process_id: int) -> Decimal:
    """Record spend against a budget line (once per key)."""
    return budget.record_spend(uow(), line_id, amount=amount, key=key, actor_email=actor,
                               note=note, process_id=process_id).spent


@task(name="allocate", **ENGINE_TASK)
def allocate(line_id: int, amount: Decimal | float, actor: str, process_id: int) -> Decimal:
    """Finance sets a budget line's allocation."""
    return budget.allocate(uow(), line_id, amount=amount, actor_email=actor,
                           process_id=process_id).allocated


@task(name="record-activity", **ENGINE_TASK)
def record_activity(activity_id: int, report: dict[str, Any], item_id: int, actor: str) -> None:
    """Record an activity owner's report."""
    campaigns.record_activity_report(uow(), activity_id, report=report, work_item_id=item_id,
                                     actor_email=actor)


@task(name="record-kpi-actuals", **ENGINE_TASK)
def record_actuals(campaign_id: int, actuals: dict[str, float], actor: str) -> None:
    """Record the KPI actuals."""
    campaigns.record_kpi_actuals(uow(), campaign_id, actuals=actuals, actor_email=actor)


@task(name="record-evaluation", **ENGINE_TASK)
def record_evaluation(campaign_id: int, evaluation: dict[str, Any], lessons: str,
                      actor: str) -> None:
    """Record the evaluation and the lessons."""
    campaigns.record_evaluation(uow(), campaign_id, evaluation=evaluation, lessons=lessons,
                                actor_email=actor)


def figures(campaign_id: int) -> dict[str, Any]:
    """Activities, KPIs and budget lines as they stand (a read, never cached)."""
    return campaigns.campaign_figures(uow(), campaign_id)
