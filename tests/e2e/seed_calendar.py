"""What the calendar's end-to-end test needs on the served data, made in one process: run as
``python -m tests.e2e.seed_calendar`` in the served environment, it prints one JSON object:
``token`` (Olga's, the campaign's owner), ``month`` (YYYY-MM of the campaign's first day),
``process``, ``approval`` and ``brief`` (ids of the campaign's process, finance's approval step
and marketing's handoff to tech).

Every date counts from the served clock (``uow.now()``): the campaign starts on the first day
of next month, and its activity, approval and handoff fall in that month's first ten days, so
the month page shows them all whatever the day of the month the test runs.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any

OLGA = "olga.petrova@example.com"  # marketing specialist, owns the campaign


def seed() -> dict[str, Any]:
    """Make the campaign, its plan, approval and handoff, and Olga's token; their ids."""
    from mktflow import bootstrap
    from mktflow.domain.actors import Approval, Door
    from mktflow.engine import campaigns, handoffs, processes, work
    from mktflow.engine.credentials import issue_token

    now = bootstrap.uow().now()
    start = (now.date().replace(day=1) + timedelta(days=32)).replace(day=1)  # next month's first
    code = f"CMP-CAL-{now:%H%M%S}"
    process = processes.start_process(bootstrap.uow(), process="campaign", business_key=code,
                                      owner_email=OLGA, params={"code": code})
    assert process.id is not None
    campaigns.record_plan(
        bootstrap.uow(), process_id=process.id, code=code, actor_email=OLGA, owner_email=OLGA,
        plan={"name": "Autumn teas", "goal": "grow", "target_customers": "grocers",
              "channels": ["ads"], "start": start.isoformat(),
              "end": (start + timedelta(days=30)).isoformat(),
              "kpis": [{"name": "leads", "target": 50}],
              "activities": [{"title": "Tasting days", "owner": OLGA, "budget_line": "ads",
                              "start": (start + timedelta(days=2)).isoformat(),
                              "end": (start + timedelta(days=9)).isoformat()}],
              "budget_lines": [{"code": "ads", "title": "Ads", "amount": 5000}]})
    at = datetime.combine(start, time(12), tzinfo=now.tzinfo)  # noon of the first day
    approval = work.create_work_item(  # as the campaign flow makes its approval step
        bootstrap.wiring().uow(Door.ENGINE), actor_email="mktflow", department="finance",
        title="Approve the tasting budget", process_id=process.id, step_key="approve",
        due_at=at + timedelta(days=1),
        approval=Approval(department="finance", roles=("head",), rule="finance head"))
    brief = handoffs.offer(bootstrap.uow(), actor_email=OLGA, from_department="marketing",
                           to_department="tech", title="Tasting stand brief",
                           due_at=at + timedelta(days=3), process_id=process.id,
                           step_key="brief")
    return {"token": issue_token(bootstrap.uow(), OLGA).token, "month": start.strftime("%Y-%m"),
            "process": process.id, "approval": approval.id, "brief": brief.id}


if __name__ == "__main__":
    print(json.dumps(seed()))
