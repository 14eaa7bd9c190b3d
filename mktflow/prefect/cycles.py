"""What every cycle flow shares: its period, its report's header and its artifacts.

The cycle tasks (begin, finish, settle carried steps, hand the report) live in
``mktflow.prefect.tasks.cycles`` and are re-exported here for the cycle flows.

Imports Prefect; only flows import this module.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from mktflow.config import get_settings
from mktflow.domain import clock
from mktflow.domain.cycles import next_period, period_of, previous_period
from mktflow.engine import cycles
from mktflow.prefect.artifacts import artifact_key, json_rows, markdown_table
from mktflow.prefect.tasks.cycles import (
    RunView,
    begin_cycle,
    cycle_failed,
    finish_cycle,
    hand_report,
    settle_carried,
)

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
    "run_day",
    "run_header",
    "settle_carried",
]


def _today() -> date:
    """The day the run was scheduled for (or today), in the schedules' time zone."""
    scheduled = flow_run.get_scheduled_start_time()
    moment = scheduled if isinstance(scheduled, datetime) else clock.now()
    return moment.astimezone(ZoneInfo(get_settings().schedule_tz)).date()


def run_day() -> date:
    """The day the run was scheduled for (or today), in the schedules' time zone."""
    return _today()


def default_period(cycle: str, *, ahead: bool = False) -> str:
    """The period a run is for: a review covers the period just ended; a collection round
    the current one; ``ahead`` (annual planning) the next one."""
    spec = cycles.cycle_spec(cycle)
    current = period_of(_today(), spec.frequency)
    if ahead:
        return next_period(current, spec.frequency)
    return previous_period(current, spec.frequency) if spec.reviews_past_period else current


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
    create_table_artifact(json_rows(rows) or [{"note": "none"}], key=artifact_key(cycle, name),
                          description=description)
