"""SLA sweep: remind and escalate overdue work items and handoffs, one level at a time.

Level 1 at the due time reminds the assignee (or the department); level 2, after
``MKTFLOW_SLA_HEAD_AFTER_H``, tells the department head (and the delegate while the head is
away); level 3, after ``MKTFLOW_SLA_MANAGEMENT_AFTER_H``, tells management. Each level is
raised once. Scheduled every five minutes (``deployments/catalog.py``).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from mktflow.prefect.artifacts import markdown_table, publish
from mktflow.prefect.tasks.notify import sweep_overdue


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
