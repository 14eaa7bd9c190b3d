"""A hand-back that cannot reach Prefect leaves the step done and says how to hand it over."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mktflow.engine import processes, queries, work
from mktflow.engine.steps import complete_step

OLGA = "olga.petrova@example.com"


def test_an_unreachable_prefect_api_leaves_the_step_done_and_warns(
        db: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from mktflow.prefect import handback

    p = processes.start_process(db.uow(), process="campaign", business_key="CMP-HB-1",
                                owner_email=OLGA,
                                flow_run_id="6a1f0c52-8a0e-4a43-9c1b-0d2f1f1f1f1f")
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title="Plan", process_id=p.id, step_key="plan",
                                 assignee=OLGA, draft={"ok": True})
    monkeypatch.setattr(handback, "api_url", lambda: "http://127.0.0.1:9/api")  # nothing there
    with caplog.at_level(logging.WARNING, logger="mktflow.steps"):
        done = complete_step(db.uow(), item.id or 0, actor_email=OLGA)
    assert done.state == "done" and done.data == {"ok": True}
    assert queries.show(db.uow(), f"W-{item.id}").state == "done"
    assert f"mktflow process resume P-{p.id}" in caplog.text
