"""The demo's cycle round: every scheduled flow runs once and its steps get answered."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.flows


def test_every_recurring_flow_runs_and_its_steps_are_answered(flow_db: Any) -> None:
    from deployments.catalog import CATALOG
    from mktflow.demo.cycles import run_cycles, training_outcome

    lines: list[str] = []
    results = run_cycles(lines.append)
    # written out by hand: every scheduled flow but the reconciler, in the demo's order
    recurring = ["outbox-relay", "sla-sweep", "member-digests", "process-review",
                 "market-research", "budget-review", "performance-appraisal",
                 "channel-evaluation", "annual-planning", "training"]
    # the work reports' day in its order: steps, reports written, digest, week and month
    reports = ["daily-reports", "report-digest", "weekly-reports", "monthly-reports"]
    # the planning meetings, held through: agenda, minutes, approval; decisions at work
    meetings = ["quarterly-meeting", "annual-meeting"]
    assert [r["flow"] for r in results] == recurring + reports + meetings
    assert sorted(s.name for s in CATALOG if s.cron and "recovery" not in s.tags) == sorted(
        recurring + reports + meetings)
    quarter = next(r["result"] for r in results if r["flow"] == "quarterly-meeting")
    assert quarter["sent_to"] == ["management", "sales"]
    assert [w[:2] for w in quarter["work"]] == ["W-", "H-"]  # Olga's step, sales' handoff
    digest = next(r["result"] for r in results if r["flow"] == "report-digest")
    assert digest["missing"] == 1 and digest["in"] >= 1  # the one who forgot is named
    channel = next(r["result"] for r in results if r["flow"] == "channel-evaluation")
    assert (channel["distributors"], channel["flagged"]) == (3, 1)  # Southern Traders
    assert any("keep, adjust or remove Southern Traders" in line for line in lines)
    appraisal = next(r["result"] for r in results if r["flow"] == "performance-appraisal")
    assert appraisal["missed_kpis"] >= 1  # Olga's stores listed: a member below target
    assert next(r["result"] for r in results if r["flow"] == "training")["needs"] == 1
    # the plan step answered by the deputy, approved by the head, attendance recorded
    assert training_outcome() == [{
        "department": "marketing", "period": appraisal["period"], "status": "approved",
        "approved_by": "ana.torres@example.com", "sessions": [
            {"topic": "stores listed", "participants": ["olga.petrova@example.com"],
             "attended": ["olga.petrova@example.com"]}]}]
    with flow_db.uow() as u:
        from sqlmodel import col, select

        from mktflow.store.tables import ProcessInstance, WorkItem

        open_steps = u.session.exec(
            select(WorkItem).join(ProcessInstance,
                                  col(WorkItem.process_id) == col(ProcessInstance.id))
            .where(col(ProcessInstance.process).in_(recurring),
                   col(WorkItem.state).in_(["open", "claimed"]))).all()
    assert open_steps == []
