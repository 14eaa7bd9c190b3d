"""Outbox relay: send the notifications that are due — signed webhooks, Slack-compatible hooks,
e-mail — retrying failures with backoff and dead-lettering them after the last attempt.

Scheduled every minute (``deployments/catalog.py``). Each run drains what is due and stops;
several runs or ``mktflow outbox relay`` processes may overlap without sending a message twice.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from mktflow.prefect.artifacts import markdown_table, publish
from mktflow.prefect.tasks.notify import drain_outbox


def _report(summary: dict[str, Any]) -> str:
    counts = [{"outcome": k, "messages": summary[k]}
              for k in ("claimed", "sent", "retrying", "dead", "skipped")]
    errors = "\n".join(f"- `{e}`" for e in summary["errors"]) or "_none_"
    return (f"# Outbox relay\n\n{markdown_table(counts, ['outcome', 'messages'])}\n"
            f"Drained in {summary['elapsed_s']} s"
            + (f" ({summary['per_second']} messages/s)" if summary["sent"] else "")
            + f".\n\n## Last errors\n\n{errors}\n\n"
            "Dead letters: `mktflow outbox list --status dead`; send one again with "
            "`mktflow outbox retry ID`.\n")


@flow(name="outbox-relay")
def outbox_relay() -> dict[str, Any]:
    """Send what is due in the outbox and report how many were sent, retried, dead, skipped."""
    summary = drain_outbox()
    publish("outbox-relay", _report(summary), description="outbox relay")
    return summary
