"""Tasks of the training cycle (``flows/training.py``), each wrapping one handler of
``mktflow.engine.training``."""

from __future__ import annotations

from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.domain.cycles import previous_period
from mktflow.engine import training
from mktflow.engine.cycles import cycle_spec
from mktflow.engine.views import plain
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = ["earlier_plans", "move_plans_on", "open_plans", "raise_needs"]


@task(name="move-training-plans-on", **ENGINE_TASK)
def move_plans_on() -> dict[str, int]:
    """Whatever was answered and not yet recorded: plans to the head, attendance steps,
    attendance written (idempotent)."""
    return training.settle(uow())


@task(name="raise-training-needs", **ENGINE_TASK)
def raise_needs(run_id: int) -> list[dict[str, Any]]:
    """A need for every member whose appraisal of the period fell short."""
    return training.raise_needs(uow(), run_id=run_id)


@task(name="open-training-plans", **ENGINE_TASK)
def open_plans(run_id: int) -> list[dict[str, Any]]:
    """A plan step for every department with needs (once); every plan of the period."""
    return training.open_plans(uow(), run_id=run_id)


@task(name="earlier-training-plans", **ENGINE_TASK)
def earlier_plans(period: str) -> dict[str, Any]:
    """The period before ``period`` and its plans, with their sessions and attendance."""
    earlier = previous_period(period, cycle_spec("training").frequency)
    return {"period": earlier, "plans": plain(training.list_plans(uow(), period=earlier))}
