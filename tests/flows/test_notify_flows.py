"""The outbox-relay and sla-sweep flows on a real Prefect server."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from mktflow.domain import clock as clocks
from mktflow.engine import work
from mktflow.notify.testing import WebhookReceiver
from tests.integration.notify_support import HEAD, SECRET_ENV, channel, queue, rows

pytestmark = pytest.mark.flows


def test_outbox_relay_flow_sends_due_messages_and_reports(
    flow_db: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.outbox_relay import outbox_relay
    from mktflow.prefect.artifacts import read_artifacts

    monkeypatch.setenv(SECRET_ENV, "flow-secret")
    with WebhookReceiver() as rx:
        hook = channel(flow_db, "tech", url=f"{rx.url}/flow")
        ids = queue(flow_db, 3, hook.id)
        state = outbox_relay(return_state=True)
    summary = state.result()
    assert (summary["sent"], summary["dead"]) == (3, 0)
    assert sorted(rx.keys()) == sorted(ids)
    assert {m.status for m in rows(flow_db, channel_id=hook.id)} == {"sent"}
    report = read_artifacts(str(state.state_details.flow_run_id))["outbox-relay-summary"]
    assert "| sent | 3 |" in report and "| dead | 0 |" in report


def test_sla_sweep_flow_escalates_and_reports(flow_db: Any) -> None:
    from flows.sla_sweep import sla_sweep
    from mktflow.prefect.artifacts import read_artifacts

    item = work.create_work_item(flow_db.uow(), actor_email=HEAD, department="marketing",
                                 title="Flow-overdue brief",
                                 due_at=clocks.now() - timedelta(hours=2))
    state = sla_sweep(return_state=True)
    summary = state.result()
    assert {"ref": f"W-{item.id}", "level": 1, "to": "the marketing department"} in \
        summary["escalations"]
    report = read_artifacts(str(state.state_details.flow_run_id))["sla-sweep-summary"]
    assert f"| W-{item.id} | 1 | the marketing department |" in report
    again = sla_sweep()
    assert f"W-{item.id}" not in [e["ref"] for e in again["escalations"]]
