"""Tasks of the training cycle (``flows/training.py``), each wrapping one handler of
``mktflow.engine.training``."""

from __future__ import annotations

from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.engine import training
from mktflow.engine.views import plain
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = ["move_plans_on", "open_plans", "plans_of", "raise_needs"]


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


@task(name="training-plans-of", **ENGINE_TASK)
def plans_of(period: str) -> list[dict[str, Any]]:
    """The plans of an earlier period, with their sessions and attendance."""
    return plain(training.list_plans(uow(), period=period))
