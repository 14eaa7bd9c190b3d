"""What the desk's figures' end-to-end test needs on the served data, made in one process: run
as ``python -m tests.e2e.seed_desk`` in the served environment, it prints one JSON object:
``tokens`` (Pedro's, production's head, and Olga's, the campaign's owner), ``campaign`` (its
code), ``year`` (its KPIs' and budget lines' period), ``crates`` and ``pallets`` (handoff ids).

Production's handoffs happened in the past, each written at its own moment (a unit of work on
a clock standing then, counted back from the served clock's now): supply took 6 hours to accept
the crates, 12 to deliver them, and production 2 to confirm; the pallets have waited on supply
since 8 hours ago. Pedro holds three open steps: one overdue, one due in three days, one with
no due time. The campaign spent 700.00 of 1,000.00 on ads and nothing of 500.00 on print; it
has 120 leads of 100 and 30 stores of 40.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.seed_calendar import OLGA

PEDRO = "pedro.alves@example.com"  # production head
ELENA = "elena.volkova@example.com"  # supply head
GRACE = "grace.liu@example.com"  # finance head


def seed() -> dict[str, Any]:
    """Make production's handoffs and steps and the campaign; tokens and ids."""
    from mktflow import bootstrap
    from mktflow.domain.clock import FrozenClock
    from mktflow.engine import budget, campaigns, handoffs, processes, work
    from mktflow.engine.credentials import issue_token

    now = bootstrap.uow().now().replace(microsecond=0)
    database = bootstrap.wiring().database

    def then(hours_ago: float) -> Any:  # a unit of work at that moment
        moment: datetime = now - timedelta(hours=hours_ago)
        return bootstrap.Wiring(database=database, clock=FrozenClock(moment)).uow()

    due = now + timedelta(days=10)
    crates = handoffs.offer(then(30), actor_email=PEDRO, from_department="production",
                            to_department="supply", title="Crates for the fair", due_at=due).id
    assert crates is not None
    handoffs.accept(then(24), crates, actor_email=ELENA)
    handoffs.deliver(then(12), crates, actor_email=ELENA)
    handoffs.confirm(then(10), crates, actor_email=PEDRO)
    pallets = handoffs.offer(then(8), actor_email=PEDRO, from_department="production",
                             to_department="supply", title="Pallets", due_at=due).id
    for title, due_at in (("Fix the filler", now - timedelta(hours=1)),
                          ("Order labels", now + timedelta(days=3)), ("Tidy the line", None)):
        work.create_work_item(then(30), actor_email=PEDRO, department="production",
                              title=title, assignee=PEDRO, due_at=due_at)

    code = f"CMP-DESK-{now:%H%M%S}"
    process = processes.start_process(bootstrap.uow(), process="campaign", business_key=code,
                                      owner_email=OLGA, params={"code": code})
    assert process.id is not None
    start = now.date() + timedelta(days=40)
    camp = campaigns.record_plan(
        bootstrap.uow(), process_id=process.id, code=code, actor_email=OLGA, owner_email=OLGA,
        plan={"name": "Tea for grocers", "goal": "grow", "target_customers": "grocers",
              "channels": ["ads"], "start": start.isoformat(),
              "end": (start + timedelta(days=30)).isoformat(),
              "kpis": [{"name": "leads", "target": 100}, {"name": "stores", "target": 40}],
              "activities": [{"title": "Ads", "owner": OLGA, "budget_line": "ads"},
                             {"title": "Leaflets", "owner": OLGA, "budget_line": "print"}],
              "budget_lines": [{"code": "ads", "title": "Online ads", "amount": 1000},
                               {"code": "print", "title": "Leaflets", "amount": 500}]})
    assert camp.id is not None
    lines = {a["budget_line"]: a["budget_line_id"]
             for a in campaigns.campaign_figures(bootstrap.uow(), camp.id)["activities"]}
    budget.allocate(bootstrap.uow(), lines["ads"], amount=1000, actor_email=GRACE)
    budget.allocate(bootstrap.uow(), lines["print"], amount=500, actor_email=GRACE)
    budget.record_spend(bootstrap.uow(), lines["ads"], amount=700, key=f"{code}-ads",
                        actor_email=OLGA)
    campaigns.record_kpi_actuals(bootstrap.uow(), camp.id,
                                 actuals={"leads": 120, "stores": 30}, actor_email=OLGA)
    return {"tokens": {e: issue_token(bootstrap.uow(), e).token for e in (PEDRO, OLGA)},
            "campaign": code, "year": str(start.year), "crates": crates, "pallets": pallets}


if __name__ == "__main__":
    print(json.dumps(seed()))
