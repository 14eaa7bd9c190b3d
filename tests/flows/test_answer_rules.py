"""campaign on a real Prefect server: a plan breaking the process's rules, answered through the
engine (CLI/API door) or the Prefect UI's resume form, is refused before the step is done and
the run keeps waiting at the plan; a sound plan then moves it on to approval."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest

from mktflow.domain.errors import FormInvalid
from tests.dates import days_ahead
from tests.flows.support import (
    Departments,
    flow_run_id_of,
    start_flow,
    steps_like,
    ui_resume,
    wait_paused,
)

pytestmark = pytest.mark.flows

HEAD = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
MARCO = "marco.rossi@example.com"
NOBODY = "nobody@example.com"


def _plan() -> dict[str, Any]:
    return {
        "name": "Spring tasting", "goal": "400 new grocers", "target_customers": "grocers",
        "channels": ["tasting", "social"], "start": days_ahead(90), "end": days_ahead(120),
        "kpis": [{"name": "new customers", "unit": "", "target": 400}],
        "activities": [
            {"title": "Tasting days", "owner": MARCO, "channel": "tasting",
             "budget_line": "tasting"},
            {"title": "Social ads", "owner": OLGA, "channel": "social", "budget_line": "ads"}],
        "budget_lines": [{"code": "tasting", "title": "Tastings", "amount": 5000},
                         {"code": "ads", "title": "Ads", "amount": 3000}],
    }


def test_a_bad_plan_is_refused_and_the_run_waits_then_a_good_one_moves_it_on(
        flow_db: Any) -> None:
    from flows.campaign import campaign

    code = f"CMP-{uuid.uuid4().hex[:8]}"
    run = start_flow(campaign, request={"code": code, "owner": OLGA, "plan": _plan()})
    d = Departments(flow_db, code, run)
    plan_step = d.step("plan-1")
    fid = flow_run_id_of(flow_db, code)
    wait_paused(fid, "plan-1")

    bad_owner = copy.deepcopy(_plan())
    bad_owner["activities"][0]["owner"] = NOBODY
    with pytest.raises(FormInvalid, match=f"activities.0.owner: {NOBODY} is not an active member"):
        d.answer("plan-1", OLGA, bad_owner)
    start, end = days_ahead(60), days_ahead(30)
    backwards = {**_plan(), "start": start, "end": end}
    with pytest.raises(FormInvalid, match=f"end: {end} is before start {start}"):
        d.answer("plan-1", OLGA, backwards)
    unknown_line = copy.deepcopy(_plan())
    unknown_line["activities"][1]["budget_line"] = "radio"
    with pytest.raises(FormInvalid, match=r"activities\.1\.budget_line: 'Social ads' "
                                          r"charges unknown budget line 'radio'"):
        d.answer("plan-1", OLGA, unknown_line)

    # the Prefect UI's resume form goes through the same engine check (reconcile_ui_answer)
    ui_resume(fid, {**bad_owner, "answered_by": OLGA})
    wait_paused(fid, "plan-1-retry-1")
    refusal = [e for e in d.history() if e.action == "comment"][-1]
    assert f"activities.0.owner: {NOBODY} is not an active member" in refusal.reason

    time.sleep(0.5)  # the run had every chance to move on: it did not
    assert run.thread.is_alive()
    step = d.step("plan-1")
    assert (step.id, step.state, step.data) == (plan_step.id, "claimed", None)
    assert steps_like(flow_db, code, "plan-2") == []
    assert steps_like(flow_db, code, "approval-") == []
    from mktflow.engine import queries

    assert queries.show(flow_db.uow(), f"P-{d.process_id()}").status == "running"

    d.answer("plan-1", OLGA, _plan())
    approval = d.step("approval-1-marketing-1")  # 8,000: the marketing head decides
    assert approval.state == "open"
    d.answer("approval-1-marketing-1", HEAD, {"decision": "reject", "reason": "not this year"})
    result = run.result()
    assert result["outcome"] == "rejected" and result["reason"] == "not this year"
