"""What every cycle flow shares: its period, the begin/finish tasks, and its artifacts.

Imports Prefect; only flows import this module.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from pydantic import BaseModel

from mktflow.config import get_settings
from mktflow.domain.cycles import next_period, period_of, previous_period
from mktflow.engine import cycles
from mktflow.prefect.artifacts import artifact_key, markdown_table
from mktflow.prefect.tasks import ENGINE_TASK, uow
from mktflow.store.types import utcnow

__all__ = [
    "RunView",
    "begin_cycle",
    "cycle_failed",
    "default_period",
    "finish_cycle",
    "hand_report",
    "markdown_table",
    "publish_markdown",
    "publish_table",
    "run_header",
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


def _today() -> date:
    """The day the run was scheduled for (or today), in the schedules' time zone."""
    scheduled = flow_run.get_scheduled_start_time()
    moment = scheduled if isinstance(scheduled, datetime) else utcnow()
    return moment.astimezone(ZoneInfo(get_settings().schedule_tz)).date()


def default_period(cycle: str, *, ahead: bool = False) -> str:
    """The period a run is for: a review covers the period just ended; a collection round
    the current one; ``ahead`` (annual planning) the next one."""
    spec = cycles.cycle_spec(cycle)
    current = period_of(_today(), spec.frequency)
    if ahead:
        return next_period(current, spec.frequency)
    return previous_period(current, spec.frequency) if spec.reviews_past_period else current


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


def run_header(run: RunView, title: str) -> str:
    """The first lines of every cycle report: what, which period, skipped and carried."""
    lines = [f"# {title}", "", f"**Period:** {run.period}"]
    if run.skipped_periods:
        lines.append(f"\n**Skipped cycle:** no {run.cycle} ran for "
                     f"{', '.join(run.skipped_periods)} (last run: {run.previous_period}).")
    lines.append(f"\n**Carried over from {run.previous_period or 'no earlier run'}:** "
                 f"{len(run.carried)} open item(s).")
    return "\n".join(lines)


def publish_markdown(cycle: str, name: str, text: str, description: str) -> None:
    """A markdown artifact keyed ``<cycle>-<name>`` (the latest is kept per key)."""
    create_markdown_artifact(text, key=artifact_key(cycle, name), description=description)


def publish_table(cycle: str, name: str, rows: list[dict[str, Any]], description: str) -> None:
    """A table artifact keyed ``<cycle>-<name>``; an empty table gets one explanatory row."""
    create_table_artifact(rows or [{"note": "none"}], key=artifact_key(cycle, name),
                          description=description)


@task(name="settle-carried", **ENGINE_TASK)
def settle_carried(run_id: int) -> dict[str, list[dict[str, Any]]]:
    """The decision steps carried in: answered since (with their data), still open, withdrawn."""
    from mktflow.engine.reviews import settle_carried as settle

    return settle(uow(), run_id=run_id)


@task(name="hand-report", **ENGINE_TASK)
def hand_report(run_id: int, departments: list[str], title: str, summary: str) -> list[str]:
    """Put the report in each department's queue to read (they are told); returns refs."""
    link = flow_run.get_flow_run_ui_url() or "the flow run's Artifacts tab"
    items = cycles.hand_report(uow(), run_id=run_id, departments=departments, title=title,
                               description=f"{summary} The report: {link}")
    return [f"W-{i.id}" for i in items]
