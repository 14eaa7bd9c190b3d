"""Tasks of the work reports upward (``flows/work_reports.py``), each wrapping one handler of
``mktflow.engine.work_reports``."""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import task
from prefect.runtime import flow_run

from mktflow.bootstrap import engine_uow as uow
from mktflow.engine import work_reports
from mktflow.engine.views import plain
from mktflow.prefect.tasks.common import ENGINE_TASK, typed_uow

__all__ = ["gather_period", "name_missing", "open_daily", "send_digest", "submit_report"]


def _link() -> str:
    url = flow_run.get_flow_run_ui_url()
    return f"The run: {url}" if url else ""


@task(name="name-missing-reports", **ENGINE_TASK)
def name_missing(today: date) -> list[dict[str, Any]]:
    """Each head is named who wrote no report for the last working day before ``today``."""
    return work_reports.name_missing(uow(), today=today, flow_run_id=flow_run.get_id())


@task(name="open-daily-reports", **ENGINE_TASK)
def open_daily(day: date) -> list[dict[str, Any]]:
    """``day``'s report step for every member who owes one, due at the end of their day."""
    return work_reports.open_daily(uow(), day=day, flow_run_id=flow_run.get_id())


@task(name="send-report-digest", **ENGINE_TASK)
def send_digest(day: date) -> list[dict[str, Any]]:
    """Each head's digest of the department's reports of ``day``: who is in, who is missing."""
    return work_reports.send_digest(uow(), day=day, flow_run_id=flow_run.get_id(),
                                    link=_link())


@task(name="gather-reports", **ENGINE_TASK)
def gather_period(kind: str, period: str | None) -> dict[str, Any]:
    """The weekly or monthly reports gathered from the daily ones, for management."""
    out = work_reports.gather_period(uow(), kind=kind, period=period,
                                     flow_run_id=flow_run.get_id(), link=_link())
    return {**out, "reports": plain(out["reports"])}


@task(name="submit-report", **ENGINE_TASK)
def submit_report(member: str, done: str, problems: str, next_: str, kind: str,
                  period: str | None) -> dict[str, Any]:
    """A report written in the Prefect UI's Run form, as the member typed there (not proven:
    a report decides nothing); a refusal fails the run with the engine's words."""
    return plain(work_reports.submit(typed_uow(), actor_email=member, done=done,
                                     problems=problems, next_=next_, kind=kind, period=period))
