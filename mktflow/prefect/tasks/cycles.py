"""Tasks every cycle flow shares (begin, finish, carried steps, the report), and market research's.

Each wraps one engine handler; ``cycle_failed`` is the flow-run hook that closes a failed run.
"""

from __future__ import annotations

from typing import Any, Literal

from prefect import task
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from mktflow.bootstrap import engine_uow as uow
from mktflow.domain.calendars import WorkingDue
from mktflow.engine import cycles, reviews
from mktflow.engine.common import ref
from mktflow.prefect.tasks.common import ENGINE_TASK

__all__ = [
    "Assignment",
    "ResearchFindings",
    "RunView",
    "assign_collection",
    "begin_cycle",
    "compile_last_round",
    "cycle_failed",
    "finish_cycle",
    "hand_report",
    "settle_carried",
]


class RunView(BaseModel):
    """A cycle run as flows pass it between tasks."""

    id: int
    cycle: str
    period: str
    process_id: int | None
    previous_period: str | None
    skipped_periods: list[str]
    carried: list[dict[str, Any]]


@task(name="begin-cycle", **ENGINE_TASK)
def begin_cycle(cycle: str, period: str, params: dict[str, Any] | None = None) -> RunView:
    """Open the cycle run for the period: skipped periods noted, open items carried in."""
    run = cycles.begin_cycle(uow(), cycle=cycle, period=period, flow_run_id=flow_run.get_id(),
                             params=params)
    assert run.id is not None
    return RunView(id=run.id, cycle=run.cycle, period=run.period, process_id=run.process_id,
                   previous_period=run.previous_period, skipped_periods=run.skipped_periods,
                   carried=run.carried)


def cycle_failed(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow-run hook (on failure, on crash): the cycle run and its process end failed too,
    instead of showing ``running`` after their flow run ended."""
    cycles.fail_cycle_run(uow(), flow_run_id=str(flow_run.id), reason=state.message)


@task(name="finish-cycle", **ENGINE_TASK)
def finish_cycle(run_id: int, open_items: list[dict[str, Any]],
                 summary: dict[str, Any]) -> int:
    """Close the cycle run with what it leaves for the next one; returns that count."""
    cycles.finish_cycle(uow(), run_id, open_items=open_items, summary=summary)
    return len(open_items)


@task(name="settle-carried", **ENGINE_TASK)
def settle_carried(run_id: int) -> dict[str, list[dict[str, Any]]]:
    """The decision steps carried in: answered since (with their data), still open, withdrawn."""
    return reviews.settle_carried(uow(), run_id=run_id)


@task(name="hand-report", **ENGINE_TASK)
def hand_report(run_id: int, departments: list[str], title: str, summary: str) -> list[str]:
    """Put the report in each department's queue to read (they are told); returns refs."""
    link = flow_run.get_flow_run_ui_url() or "the flow run's Artifacts tab"
    items = cycles.hand_report(uow(), run_id=run_id, departments=departments, title=title,
                               description=f"{summary} The report: {link}")
    return [ref(i) for i in items]


# --- market research ----------------------------------------------------------------------


class Assignment(BaseModel):
    """Who collects findings on which topic this round."""

    topic: Literal["consumer", "market", "competitor"]
    member: str = Field(description="E-mail of the member who collects.")


class ResearchFindings(BaseModel):
    """What a member hands in: the finding, where it comes from, what it means for us."""

    summary: str = Field(min_length=1, description="The finding in a few sentences.")
    sources: str = Field(default="", description="Where it comes from (survey, visits, ...).")
    implications: str = Field(default="", description="What it means for plans and products.")


@task(name="compile-last-round", **ENGINE_TASK)
def compile_last_round(run_id: int) -> dict[str, list[dict[str, Any]]]:
    """Findings that came back since the last run, and the steps still missing."""
    return cycles.compile_collection(uow(), run_id=run_id)


@task(name="assign-collection", **ENGINE_TASK)
def assign_collection(run_id: int, assignments: list[Assignment] | None,
                      due_days: int) -> list[dict[str, Any]]:
    """Give each named member this round's collection step, due in ``due_days`` working days
    counted in each member's calendar (calendar days where the branch keeps none; 0: due at
    once); returns the steps to carry."""
    pairs: list[tuple[str, str]] = ([(str(a.topic), a.member) for a in assignments]
                                    if assignments else cycles.default_collectors(uow()))
    cycles.assign_collection(uow(), run_id=run_id, assignments=pairs,
                             due_at=WorkingDue("day", due_days) if due_days else uow().now(),
                             form_schema=ResearchFindings.model_json_schema())
    return cycles.collection_rows(uow(), run_id=run_id)
