"""new-product-development on a real Prefect server: proposal, project approval, letters,
stage gates with rework, the resource guarantee before launch, the launch plan."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from mktflow.domain.errors import FormInvalid
from tests.dates import days_ahead
from tests.flows.support import Departments, flow_run_id_of, start_flow

pytestmark = pytest.mark.flows

OLGA = "olga.petrova@example.com"
HEAD = "ana.torres@example.com"
CEO = "maria.garcia@example.com"
CHEN = "chen.jie@example.com"
FINANCE = "grace.liu@example.com"
TOM = "tom.berg@example.com"
PEDRO = "pedro.alves@example.com"
WANG = "wang.fang@example.com"
RAJ = "raj.patel@example.com"

PROPOSAL = {"market_need": "tea without sugar", "target_customers": "office workers",
            "positioning": "premium natural", "forecast_units": 250000,
            "forecast_revenue": 750000}
GO = {"decision": "go"}


def _project(code: str) -> dict[str, Any]:
    return {"code": code, "product_name": "Cold tea", "owner": OLGA,
            "gate_approvers": [HEAD, CEO],
            "budget_lines": [
                {"code": "design", "title": "Design", "department": "tech", "amount": 30000},
                {"code": "trial", "title": "Trial run", "department": "production",
                 "amount": 25000},
                {"code": "launch", "title": "Launch", "department": "marketing",
                 "amount": 40000}]}


def _gates(d: Departments, gate: str, round_: int, *decisions: dict[str, Any]) -> None:
    for n, (who, decision) in enumerate(zip((HEAD, CEO), decisions, strict=True), start=1):
        d.answer(f"gate-{gate}-{round_}-{n}", who, decision)


def test_project_from_proposal_to_launch(flow_db: Any) -> None:
    from flows.new_product_development import new_product_development
    from mktflow.prefect.artifacts import read_artifacts
    from mktflow.store.tables import Handoff, OutboxMessage

    code = f"NPD-{uuid.uuid4().hex[:8]}"
    run = start_flow(new_product_development, project=_project(code))
    d = Departments(flow_db, code, run)
    d.answer("proposal-1", OLGA, PROPOSAL)
    d.answer("project-approval-1-management-1", CEO,
             {"decision": "rework", "reason": "forecast too optimistic"})
    d.answer("proposal-2", OLGA, {**PROPOSAL, "forecast_units": 150000})
    d.answer("project-approval-2-management-1", CHEN, {"decision": "approve"})
    d.answer("budget-allocation-1", FINANCE, {"allocations": [
        {"code": "design", "amount": 30000}, {"code": "trial", "amount": 25000},
        {"code": "launch", "amount": 10000}]})
    # responsibility letters: production rejects the first, marketing revises it
    d.answer("letter-tech-1", TOM, {"decision": "accept"})
    d.answer("letter-production-1", PEDRO, {"decision": "reject",
                                            "reason": "capacity booked until May"})
    d.answer("letter-production-1-revision", OLGA, {"action": "re-offer",
                                                    "deliverables": ["trial run in June"],
                                                    "criteria": "after the May peak"})
    d.answer("letter-production-2", WANG, {"decision": "accept"})
    d.answer("letter-supply-1", RAJ, {"decision": "accept"})
    # concept: marketing shapes it first
    d.answer("concept-brief-1", OLGA, {"concept": "cold brew bottle", "packaging_direction":
                                       "glass", "price_point": 2.9})
    with pytest.raises(FormInvalid, match="field 'reason'"):
        d.answer("gate-concept-1-1", HEAD, {"decision": "rework"})
    _gates(d, "concept", 1, GO, GO)
    # prototype: one approver asks for rework; tech's deliverable goes back and comes again
    d.answer("prototype-1", TOM, {"design_summary": "version 1", "prototype_ready": True})
    _gates(d, "prototype", 1, {"decision": "rework", "reason": "the cap leaks"}, GO)
    d.answer("prototype-2", TOM, {"design_summary": "v2, new cap", "prototype_ready": True})
    _gates(d, "prototype", 2, GO, GO)
    d.answer("trial-run-1", WANG, {"trial_ok": True, "capacity_per_month": 40000,
                                   "unit_cost": 0.95})
    d.answer("materials-1", RAJ, {"materials_secured": True, "lead_time_days": 21})
    _gates(d, "pilot", 1, GO, GO)
    # launch: blocked until the launch budget line is allocated
    blocked = d.step("resource-guarantee-1")
    assert "launch (Launch): 10,000.00 allocated of 40,000.00 planned" in blocked.description
    d.answer("resource-guarantee-1", FINANCE, {"allocations": [{"code": "launch",
                                                                "amount": 40000}]})
    _gates(d, "launch", 1, GO, GO)
    d.answer("launch-plan", OLGA, {"launch_date": days_ahead(180), "channels": ["supermarkets"],
                                   "message": "nothing added", "launch_budget": 40000})
    result = run.result()
    assert result["outcome"] == "launched"
    assert [(r["budget_line"], r["allocated"]) for r in result["budget"]] == [
        ("design", 30000.0), ("launch", 40000.0), ("trial", 25000.0)]
    with flow_db.uow() as u:
        letters = {h.step_key: h for h in u.session.exec(select(Handoff).where(
            col(Handoff.title).startswith(code)))}
        assert letters["letter-production-1"].state == "rejected"
        assert letters["letter-production-2"].deliverables == ["trial run in June"]
        assert {k: h.state for k, h in letters.items() if k != "letter-production-1"} == {
            "letter-tech-1": "confirmed", "letter-production-2": "confirmed",
            "letter-supply-1": "confirmed"}
        assert letters["letter-tech-1"].return_count == 1
        told = u.session.exec(select(OutboxMessage).where(
            col(OutboxMessage.event) == "process.gate_blocked")).all()
        assert {m.department for m in told if code in m.subject} >= {"finance", "management"}
    arts = read_artifacts(flow_run_id_of(flow_db, code))
    figures = arts[f"new-product-{code.lower()}-figures"]
    assert {r["budget_line"]: r["allocated"] for r in figures} == {
        "design": 30000.0, "launch": 40000.0, "trial": 25000.0}


def test_management_rejects_the_project(flow_db: Any) -> None:
    from flows.new_product_development import new_product_development

    code = f"NPD-{uuid.uuid4().hex[:8]}"
    run = start_flow(new_product_development, project=_project(code))
    d = Departments(flow_db, code, run)
    d.answer("proposal-1", OLGA, PROPOSAL)
    d.answer("project-approval-1-management-1", CEO, {"decision": "reject",
                                                      "reason": "not our market"})
    result = run.result()
    assert (result["outcome"], result["reason"]) == ("rejected", "not our market")


def test_a_letter_decided_on_its_handoff_moves_the_project(flow_db: Any) -> None:
    """Issue 21, one door per decision: tech accepts its letter on the handoff (as its page,
    the API or `mktflow handoff accept` do), production rejects its own there: each letter's
    deciding step is completed by that, the flow goes on, and each department had one notice
    for its letter."""
    from flows.new_product_development import new_product_development
    from mktflow.engine import handoffs
    from mktflow.store.tables import Handoff, OutboxMessage

    code = f"NPD-{uuid.uuid4().hex[:8]}"
    run = start_flow(new_product_development, project=_project(code))
    d = Departments(flow_db, code, run)
    d.answer("proposal-1", OLGA, PROPOSAL)
    d.answer("project-approval-1-management-1", CHEN, {"decision": "approve"})
    d.answer("budget-allocation-1", FINANCE, {"allocations": [
        {"code": "design", "amount": 30000}, {"code": "trial", "amount": 25000},
        {"code": "launch", "amount": 40000}]})

    def letter(key: str) -> int:
        d.step(key)  # the deciding step exists: the flow waits on it
        with flow_db.uow() as u:
            found = u.session.exec(select(Handoff).where(
                col(Handoff.process_id) == d.process_id(), col(Handoff.step_key) == key)).one()
            return int(found.id)

    handoffs.accept(flow_db.uow(), letter("letter-tech-1"), actor_email=TOM)
    assert d.step("letter-tech-1").state == "done"
    handoffs.reject(flow_db.uow(), letter("letter-production-1"), actor_email=PEDRO,
                    reason="capacity booked until May")
    assert d.step("letter-production-1").data == {"decision": "reject",
                                                  "reason": "capacity booked until May"}
    d.answer("letter-production-1-revision", OLGA, {"action": "stop",
                                                    "reason": "no capacity this year"})
    result = run.result()
    assert result["outcome"] == "stopped"
    with flow_db.uow() as u:
        for dept, key in (("tech", "letter-tech-1"), ("production", "letter-production-1")):
            told = [m.event for m in u.session.exec(select(OutboxMessage).where(
                col(OutboxMessage.department) == dept)) if code in m.subject]
            assert told == ["handoff.offered"], (dept, key, told)
