"""campaign on a real Prefect server: plan, approval by threshold, execution with overspend,
tracking, evaluation and its report."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from mktflow.domain.errors import FormInvalid, NotAuthorized
from tests.dates import days_ahead
from tests.flows.support import Departments, flow_run_id_of, start_flow, steps_like

pytestmark = pytest.mark.flows

HEAD = "ana.torres@example.com"
DEPUTY = "li.na@example.com"
OLGA = "olga.petrova@example.com"
MARCO = "marco.rossi@example.com"
FINANCE = "grace.liu@example.com"
FINANCE2 = "omar.haddad@example.com"
CEO = "maria.garcia@example.com"
SALES = "carlos.mendez@example.com"


def _plan(total_tasting: float, total_ads: float) -> dict[str, Any]:
    return {
        "name": "Spring tasting", "goal": "400 new grocers", "target_customers": "grocers",
        "channels": ["tasting", "social"], "start": days_ahead(90), "end": days_ahead(120),
        "kpis": [{"name": "new customers", "unit": "", "target": 400},
                 {"name": "cost per lead", "unit": "EUR", "target": 20,
                  "higher_is_better": False},
                 {"name": "leads_won", "unit": "leads", "target": 1}],  # counted, not typed
        "activities": [
            {"title": "Tasting days", "owner": MARCO, "channel": "tasting",
             "budget_line": "tasting"},
            {"title": "Social ads", "owner": DEPUTY, "channel": "social", "budget_line": "ads"}],
        "budget_lines": [{"code": "tasting", "title": "Tastings", "amount": total_tasting},
                         {"code": "ads", "title": "Ads", "amount": total_ads}],
    }


def _activity(d: Departments, code: str, owner: str) -> Any:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for item in steps_like(d.db, code, "activity-"):
            if item.assignee_email == owner:
                return item
        time.sleep(0.05)
    raise AssertionError(f"no activity step for {owner}")


def test_campaign_rework_four_eyes_overspend_and_report(flow_db: Any) -> None:
    from flows.campaign import campaign
    from mktflow.engine.steps import complete_step
    from mktflow.prefect.artifacts import read_artifacts

    code = f"CMP-{uuid.uuid4().hex[:8]}"
    run = start_flow(campaign, request={"code": code, "owner": DEPUTY,
                                        "plan": _plan(20000, 10000)})
    d = Departments(flow_db, code, run)
    d.answer("plan-1", DEPUTY, _plan(20000, 10000))
    # 30,000 is above the marketing head's limit: finance, then management
    d.answer("approval-1-finance-1", FINANCE, {"decision": "rework",
                                               "reason": "cut it to 18,000"})
    assert "cut it to 18,000" in d.step("plan-2").description
    d.answer("plan-2", DEPUTY, _plan(10000, 8000))
    # 18,000: the marketing head or deputy; the deputy submitted it, so four eyes says no
    with pytest.raises(NotAuthorized, match="four eyes"):
        d.answer("approval-2-marketing-1", DEPUTY, {"decision": "approve"})
    d.answer("approval-2-marketing-1", HEAD, {"decision": "approve"})
    tasting = _activity(d, code, MARCO)
    ads = _activity(d, code, DEPUTY)
    from mktflow.engine import work

    work_uow = flow_db.uow
    complete_step(work_uow(), tasting.id, actor_email=MARCO,
                  data={"completed": True, "spent": 10500, "results": "20 stores"})
    complete_step(work_uow(), ads.id, actor_email=DEPUTY, data={"completed": True,
                                                                "spent": 9500})
    # 20,000 spent of 18,000: beyond the 10% tolerance, finance re-approves
    over = d.step(f"overspend-{ads.step_key.removeprefix('activity-')}-finance-1")
    assert DEPUTY in over.excluded
    work.claim(work_uow(), over.id, actor_email=FINANCE2)
    complete_step(work_uow(), over.id, actor_email=FINANCE2, data={"decision": "approve"})
    # the campaign's leads (seed 001, 工作流程 1.(2)): two gathered with its key, one qualified
    # into a handoff sales accepts and wins, one disqualified; leads_won is counted from them
    from datetime import timedelta

    from mktflow.engine import handoffs, leads

    won, dropped = (leads.gather(work_uow(), actor_email=OLGA, company=company,
                                 contact="buyer@example.com", channel="tasting", campaign=code)
                    for company in ("North Grocers", "Kiosk"))
    handed = leads.qualify(work_uow(), won.id, actor_email=OLGA,
                           due_at=work_uow().now() + timedelta(days=3))
    handoffs.accept(work_uow(), handed.handoff_id, actor_email=SALES)
    leads.report_outcome(work_uow(), won.id, actor_email=SALES, outcome="won", order="SO-9")
    leads.disqualify(work_uow(), dropped.id, actor_email=OLGA, reason="not a grocer")
    with pytest.raises(FormInvalid, match=r"field 'actuals\.0\.actual'"):
        d.answer("tracking-1", DEPUTY, {"actuals": [{"name": "new customers", "actual": -5}]})
    d.answer("tracking-1", DEPUTY, {"actuals": [{"name": "new customers", "actual": 430},
                                                {"name": "cost per lead", "actual": 18}]})
    evaluation = d.step("evaluation").description
    assert "20,000.00" in evaluation and "leads_won" in evaluation
    d.answer("evaluation", DEPUTY, {"lessons": "tastings convert; ads do not"})
    result = run.result()
    assert result["outcome"] == "evaluated"
    assert (result["allocated"], result["spent"], result["kpis_met"]) == (20000.0, 20000.0, 3)
    assert result["cost_per_result"] == round(20000 / 430, 2)
    arts = read_artifacts(flow_run_id_of(flow_db, code))
    key = f"campaign-{code.lower()}"
    kpis = {r["kpi"]: r for r in arts[f"{key}-figures"]}
    assert kpis["new customers"]["achievement"] == 1.075 and kpis["new customers"]["met"]
    assert kpis["cost per lead"]["achievement"] == round(20 / 18, 4)
    assert (kpis["leads_won"]["actual"], kpis["leads_won"]["met"]) == (1, True)
    assert {r["budget_line"]: (r["allocated"], r["spent"]) for r in arts[f"{key}-budget"]} == {
        "ads": (9500.0, 9500.0), "tasting": (10500.0, 10500.0)}
    assert "tastings convert" in arts[f"{key}-summary"]


def test_branch_campaign_is_decided_locally_and_can_be_rejected(flow_db: Any) -> None:
    from flows.campaign import campaign

    code = f"CMP-{uuid.uuid4().hex[:8]}"
    plan = _plan(3000, 1000)
    run = start_flow(campaign, request={"code": code, "owner": MARCO, "branch": "north",
                                        "plan": plan})
    d = Departments(flow_db, code, run)
    d.answer("plan-1", MARCO, plan)
    step = d.step("approval-1-marketing-1")
    assert step.branch == "north" and MARCO in step.excluded
    d.answer("approval-1-marketing-1", OLGA, {"decision": "reject", "reason": "not this season"})
    assert run.result() == {"outcome": "rejected", "campaign": code, "reason": "not this season"}
    (decision,) = [e for e in d.history() if e.action == "decide"]
    assert "in branch north" in decision.data["rule"]
