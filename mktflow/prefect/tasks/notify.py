"""Tasks of the notification flows: drain the outbox, sweep overdue work, write the daily
digests due.

They retry a lost connection, never a business refusal; each run acts on what is due then.
"""

from __future__ import annotations

from typing import Any

from prefect import task

from mktflow.bootstrap import engine_uow as uow
from mktflow.bootstrap import wiring
from mktflow.engine.digests import send_due
from mktflow.engine.sla import EscalationPolicy, sweep
from mktflow.notify.relay import build_relay
from mktflow.prefect.tasks.common import transient

__all__ = ["drain_outbox", "send_digests", "sweep_overdue"]


@task(name="drain-outbox", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=transient)
def drain_outbox() -> dict[str, Any]:
    """Send every outbox message due now; the drain's counts."""
    wired = wiring()
    with build_relay(wired.settings, engine=wired.database) as relay:
        return relay.drain().as_dict()


@task(name="sweep-overdue", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=transient)
def sweep_overdue() -> dict[str, Any]:
    """Raise the escalation level of everything overdue that reached a new one."""
    return sweep(uow(), EscalationPolicy.from_settings(wiring().settings)).as_dict()


@task(name="send-digests", retries=2, retry_delay_seconds=[2, 10],
      retry_condition_fn=transient)
def send_digests() -> list[dict[str, Any]]:
    """Write every member's daily digest due now to the outbox (each member once a day)."""
    return send_due(uow())
