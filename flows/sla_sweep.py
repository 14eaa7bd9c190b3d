"""SLA sweep: remind and escalate overdue work items and handoffs, one level at a time.

Level 1 at the due time reminds the assignee (or the department); level 2, after
``MKTFLOW_SLA_HEAD_AFTER_H``, tells the department head (and the delegate while the head is
away); level 3, after ``MKTFLOW_SLA_MANAGEMENT_AFTER_H``, tells management. Each level is
raised once. Scheduled every five minutes (``deployments/catalog.py``).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from mktflow.config import get_settings
from mktflow.engine.sla import EscalationPolicy, sweep
from mktflow.prefect.artifacts import markdown_table, publish
from mktflow.prefect.tasks import transient, uow


@task(name="sweep-overdue", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=transient)
def sweep_overdue() -> dict[str, Any]:
    """Raise the escalation level of everything overdue that reached a new one."""
    return sweep(uow(), EscalationPolicy.from_settings(get_settings())).as_dict()


def _report(summary: dict[str, Any]) -> str:
    levels = [{"level": k, "escalations": v} for k, v in summary["by_level"].items()]
    return (f"# SLA sweep\n\n{summary['checked']} overdue item(s) checked, "
            f"{summary['escalated']} escalation(s) raised.\n\n"
            f"{markdown_table(levels, ['level', 'escalations'])}\n"
            f"## Escalations\n\n{markdown_table(summary['escalations'], ['ref', 'level', 'to'])}")


@flow(name="sla-sweep")
def sla_sweep() -> dict[str, Any]:
    """Escalate overdue work and report what was raised, by level."""
    summary = sweep_overdue()
    publish("sla-sweep", _report(summary), description="SLA sweep")
    return summary
