"""What next quarter will cost (issue 24 item 7), on SQLite and PostgreSQL: the measurement
reads last quarter's ledger (steps made, claimed and done, a handoff offered, accepted and
delivered, at moments counted from the frozen clock), and the command line and the API answer
the forecast of a plan, with its jam, to heads and management only.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mktflow.engine.forecast import quarter_of
from tests.integration.api_support import bearer, member_tokens, serving

OLGA = "olga.petrova@example.com"  # marketing specialist
ANA = "ana.torres@example.com"  # marketing head
OMAR = "omar.haddad@example.com"  # finance specialist
TOM = "tom.berg@example.com"  # tech specialist
HANA = "hana.kim@example.com"  # tech head
CARLOS = "carlos.mendez@example.com"  # sales head
MARIA = "maria.garcia@example.com"  # management


def _history(db: Any, clock: Any) -> dict[str, Any]:
    """Last quarter (of the frozen clock's today): one campaign (marketing's plan held at once
    for 5 h; finance's approval waiting 3 h, then 2 h; a brief to tech waiting 4 h to be
    accepted, delivered 12 h later) and a sales step of no process (1 h, then 1 h); and one
    step this quarter, which is not last quarter's."""
    from mktflow.engine import handoffs, processes, work

    now = clock.now()
    last = quarter_of(quarter_of(now.date()).start - timedelta(days=1))
    began = datetime.combine(last.start + timedelta(days=10), time(9), tzinfo=UTC)
    clock.set(began)
    campaign = processes.start_process(db.uow(), process="campaign", business_key="CMP-FC",
                                       owner_email=OLGA, params={"code": "CMP-FC"})
    plan = work.create_work_item(db.engine_uow(), actor_email="mktflow",
                                 department="marketing", title="Plan", process_id=campaign.id,
                                 step_key="plan-1", assignee=OLGA)
    loose = work.create_work_item(db.uow(), actor_email=CARLOS, department="sales",
                                  title="Call the buyer")
    clock.advance(hours=1)
    work.claim(db.uow(), loose.id, actor_email=CARLOS)
    clock.advance(hours=1)
    work.complete(db.uow(), loose.id, actor_email=CARLOS)
    clock.set(began + timedelta(hours=5))
    work.complete(db.uow(), plan.id, actor_email=OLGA)
    approval = work.create_work_item(db.engine_uow(), actor_email="mktflow",
                                     department="finance", title="Approve the budget",
                                     process_id=campaign.id, step_key="approve-budget-1")
    clock.advance(hours=3)
    work.claim(db.uow(), approval.id, actor_email=OMAR)
    clock.advance(hours=2)
    work.complete(db.uow(), approval.id, actor_email=OMAR)
    brief = handoffs.offer(db.engine_uow(), actor_email="mktflow", from_department="marketing",
                           to_department="tech", title="Bottle brief", process_id=campaign.id,
                           step_key="brief", due_at=clock.now() + timedelta(days=20))
    clock.advance(hours=4)
    handoffs.accept(db.uow(), brief.id, actor_email=TOM)
    clock.advance(hours=12)
    handoffs.deliver(db.engine_uow(), brief.id, actor_email=TOM)  # as its flow does
    clock.set(now)
    work.create_work_item(db.uow(), actor_email=CARLOS, department="sales", title="This quarter")
    return {"since": datetime.combine(last.start, time(0), tzinfo=UTC),
            "until": datetime.combine(last.end, time(0), tzinfo=UTC), "began": began,
            "last": last}


def test_the_ledger_of_last_quarter_is_measured(db: Any, clock: Any) -> None:
    from sqlalchemy import text

    from mktflow.engine.forecast import measure

    h = _history(db, clock)
    uow = db.uow()
    with uow:
        history = measure(uow, since=h["since"], until=h["until"])
    offset = (h["began"] - h["since"]).total_seconds() / 3600
    assert history.hours == (h["until"] - h["since"]).days * 24
    by_process = {t.process: t for t in history.traces}
    assert set(by_process) == {"campaign", "(no process)"}
    steps = [(s.department, s.kind, s.arrived - offset, s.wait, s.service)
             for s in by_process["campaign"].steps]
    assert steps == [("marketing", "plan", 0, 0, 5), ("finance", "approve-budget", 5, 3, 2),
                     ("tech", "handoff", 10, 4, 12)]
    loose = by_process["(no process)"].steps
    assert [(s.department, s.wait, s.service) for s in loose] == [("sales", 1, 1)]
    with db.engine.connect() as conn:
        members = dict(conn.execute(text(
            "SELECT department, count(*) FROM member WHERE active GROUP BY department")).all())
    assert {d: n for d, n in history.capacity.items() if n} == members
    assert history.measured_waits() == {"marketing": [0], "finance": [3], "tech": [4],
                                        "sales": [1]}


def test_the_command_line_forecasts_a_plan_and_names_the_jam(db: Any, clock: Any, cli: Any,
                                                            tmp_path: Path) -> None:
    h = _history(db, clock)
    plan = tmp_path / "plan.yaml"
    plan.write_text("campaign: [200, 200, 200]\norder: 0\n", "utf-8")
    ran = cli("forecast", "--quarter", "next", "--plan", str(plan), "--json", "--seed", "4")
    assert ran.exit_code == 0, ran.stderr
    seen = ran.json()
    assert seen["quarter"] == quarter_of(clock.today()).next
    assert seen["plan"]["campaign"] == [200, 200, 200]
    routes = {r["process"]: r for r in seen["routes"]}
    assert routes["campaign"] == {"process": "campaign", "source": "history", "steps": [
        "marketing:plan", "finance:approve-budget", "tech:handoff"]}
    assert routes["order-handling"]["source"] == "definition"
    departments = {d["department"]: d for d in seen["departments"]}
    tech = departments["tech"]  # 600 briefs of 12 h on two people: a jam from the start
    assert seen["jams"] == ["tech"] and tech["jam"] and tech["utilisation"] >= 0.85
    assert tech["jam_week"] <= 2 and tech["people"] == 2
    assert not departments["marketing"]["jam"] and departments["marketing"]["steps"] > 500
    assert seen["backtest"]["history_from"] == h["last"].start.isoformat()
    assert seen["backtest"]["history_until"] == (h["last"].end - timedelta(days=1)).isoformat()
    assert seen["backtest"]["processes"] == 1
    assert cli("forecast", "--plan", str(plan), "--json", "--seed", "4").json() == seen
    text = cli("forecast", "--campaign", "9", "--as", HANA)
    assert text.exit_code == 0, text.stderr
    assert "Jams: none" in text.stdout and "campaign 3/3/3" in text.stdout
    refused = cli("forecast", "--campaign", "9", "--as", TOM)
    assert refused.exit_code == 1 and "may not see the department forecast" in refused.stderr
    plan.write_text("webinar: 3\n", "utf-8")
    bad = cli("forecast", "--plan", str(plan))
    assert bad.exit_code == 2 and "plan.webinar: no such kind" in bad.stderr
    begun = cli("forecast", "--quarter", quarter_of(clock.today()).label, "--order", "1")
    assert begun.exit_code == 2 and "has begun" in begun.stderr


@pytest.fixture
def api(db: Any) -> Any:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    tokens = member_tokens(db)
    with serving(create_app(db.engine, settings=Settings())) as url:
        def client(who: str) -> httpx.Client:
            return httpx.Client(base_url=url, timeout=20, headers=bearer(tokens[who]))
        yield client


def test_the_api_answers_the_forecast_to_heads_and_management(db: Any, clock: Any,
                                                              api: Any) -> None:
    _history(db, clock)
    body = {"plan": {"campaign": 600}, "seed": 4}
    with api(MARIA) as maria:
        answer = maria.post("/forecast", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["jams"] == ["tech"]
        bad = maria.post("/forecast", json={"plan": {"order": [1, 2]}})
        assert bad.status_code == 422 and "order" in bad.text
        past = maria.post("/forecast", json={"quarter": quarter_of(clock.today()).label})
        assert past.status_code == 422 and "has begun" in past.json()["detail"]
    with api(ANA) as ana:  # a head plans too
        small = ana.post("/forecast", json={"plan": {"campaign": [1, 1, 1]}})
        assert small.status_code == 200 and small.json()["jams"] == []
    with api(OLGA) as olga:
        refused = olga.post("/forecast", json=body)
        assert refused.status_code == 403
        assert "may not see the department forecast" in refused.json()["detail"]
