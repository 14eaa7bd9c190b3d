"""Tasks of the review cycles (process review, budget review, performance appraisal, channel
evaluation, annual planning): each wraps one engine handler or read.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.domain.cycles import CYCLES, period_bounds
from mktflow.engine import dashboards, reviews
from mktflow.engine.reports import handoff_ledger, handoff_states
from mktflow.engine.views import plain
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = [
    "apply_decisions",
    "appraise",
    "balance_of_work",
    "collect",
    "compile_ledger",
    "follow_up_carried",
    "record_results",
    "review_lines",
    "score",
]


# --- annual planning ----------------------------------------------------------------------


@task(name="collect-plan-items", **ENGINE_TASK)
def collect(run_id: int, departments: list[str]) -> list[dict[str, Any]]:
    """Open each department's plan-item step (once); what each has handed in so far."""
    reviews.open_plan_collection(uow(), run_id=run_id, departments=departments)
    return reviews.plan_submissions(uow(), run_id=run_id)


# --- budget review ------------------------------------------------------------------------


@task(name="review-budget-lines", **ENGINE_TASK)
def review_lines(run_id: int, tolerance_pct: float, key_project_min: float,
                 open_lines: list[int]) -> list[dict[str, Any]]:
    """Flag the period's lines; owners and finance get their steps."""
    return reviews.review_budget(uow(), run_id=run_id, tolerance_pct=tolerance_pct,
                                 key_project_min=key_project_min,
                                 open_lines=set(open_lines))["lines"]


# --- channel evaluation -------------------------------------------------------------------


@task(name="apply-decisions", **ENGINE_TASK)
def apply_decisions(answered: list[dict[str, Any]]) -> int:
    """Apply the marketing head's decisions taken since the last evaluation."""
    return reviews.record_channel_decisions(uow(), answered=answered)


@task(name="score-distributors", **ENGINE_TASK)
def score(run_id: int, weights: dict[str, float], threshold: float,
          undecided: list[str]) -> list[dict[str, Any]]:
    """Score every distributor; the flagged ones go to the marketing head."""
    return reviews.evaluate_channels(uow(), run_id=run_id, weights=weights,
                                     threshold=threshold, undecided=set(undecided))


# --- performance appraisal ----------------------------------------------------------------


@task(name="record-signed-results", **ENGINE_TASK)
def record_results(answered: list[dict[str, Any]]) -> int:
    """Write the results heads signed since the last run onto the appraisals."""
    return reviews.record_appraisal_results(uow(), answered=answered)


@task(name="appraise", **ENGINE_TASK)
def appraise(run_id: int) -> list[dict[str, Any]]:
    """Appraise every KPI owner and department of the period; heads get a step to sign."""
    return reviews.appraise(uow(), run_id=run_id)


# --- process review -----------------------------------------------------------------------


@task(name="compile-ledger", **ENGINE_TASK)
def compile_ledger(period: str) -> dict[str, Any]:
    """The handoff ledger of everything offered in the period."""
    since, until = period_bounds(period, CYCLES["process-review"].frequency)
    return handoff_ledger(uow(), since=since, until=until).as_dict()


@task(name="balance-of-work", **ENGINE_TASK)
def balance_of_work(period: str) -> dict[str, Any]:
    """Each department's work items of the period by importance and urgency (seed 000)."""
    return plain(dashboards.work_balance(uow(), period, reader=None))


@task(name="follow-up-carried", **ENGINE_TASK)
def follow_up_carried(carried: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the overdue handoffs the last review left open stand now."""
    states = handoff_states(uow(), [int(c["ref"].split("-")[1]) for c in carried])
    return [{**c, "state_now": states.get(int(c["ref"].split("-")[1]), "gone"),
             "settled": states.get(int(c["ref"].split("-")[1])) not in
             ("offered", "accepted", "returned")} for c in carried]
