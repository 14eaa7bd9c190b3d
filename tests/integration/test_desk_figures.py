"""The desk's figures (issue 24, items 3 and 5) on SQLite and PostgreSQL: a department's
workload and waiting (open and overdue work per member with the due spread, the hours its work
waited on each other department by stage of the handoff ledger, who is blocking whom), and the
dashboards of a campaign and of a period (KPI targets against actuals, budget allocated against
spent, the figures the campaign's evaluation and the review cycles compute); the API, the
command line and the pages, each as the read table lets the reader see.

Every time is counted from the clock fixture's now (``t0``); the demo organisation has no
working calendars here, so the waits are calendar hours (working time: the last test).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mktflow.domain.clock import FrozenClock
from mktflow.domain.errors import BadInput, NotAuthorized, NotFound
from mktflow.engine import budget, campaigns, dashboards, handoffs, processes, work, workload
from tests.integration.api_support import bearer, member_tokens, serving
from tests.integration.web_support import Browser

ANA = "ana.torres@example.com"  # marketing head
OLGA = "olga.petrova@example.com"  # marketing specialist
MARCO = "marco.rossi@example.com"  # marketing specialist (north)
TOM = "tom.berg@example.com"  # tech specialist
HANA = "hana.kim@example.com"  # tech head
CARLOS = "carlos.mendez@example.com"  # sales head
GRACE = "grace.liu@example.com"  # finance head
MARIA = "maria.garcia@example.com"  # management


@dataclass
class Desk:
    """The scenario's rows and times."""

    t0: datetime
    brief: int  # H: marketing -> tech, delivered, returned, delivered again, confirmed
    leads_list: int  # H: marketing -> sales, still offered
    drawings: int  # H: tech -> marketing, accepted by Olga, not delivered
    campaign: str  # the campaign's code
    period: str  # the KPIs' and budget lines' quarter


def _at(clock: FrozenClock, t0: datetime, hours: float) -> None:
    clock.set(t0 + timedelta(hours=hours))


def _setup(db: Any, clock: FrozenClock) -> Desk:
    t0 = clock.now().replace(minute=0, second=0, microsecond=0)
    clock.set(t0)
    far = t0 + timedelta(days=30)
    brief = handoffs.offer(db.uow(), actor_email=ANA, from_department="marketing",
                           to_department="tech", title="Bottle brief", due_at=far).id
    assert brief is not None
    _at(clock, t0, 1)
    leads_list = handoffs.offer(db.uow(), actor_email=ANA, from_department="marketing",
                                to_department="sales", title="Leads list", due_at=far).id
    _at(clock, t0, 2)
    handoffs.accept(db.uow(), brief, actor_email=TOM)
    _at(clock, t0, 4)
    drawings = handoffs.offer(db.uow(), actor_email=TOM, from_department="tech",
                              to_department="marketing", title="Drawings", due_at=far).id
    _at(clock, t0, 5)
    assert drawings is not None and leads_list is not None
    handoffs.accept(db.uow(), drawings, actor_email=OLGA)
    _at(clock, t0, 10)
    handoffs.deliver(db.uow(), brief, actor_email=TOM)
    _at(clock, t0, 12)
    handoffs.return_(db.uow(), brief, actor_email=OLGA, reason="the logo is missing")
    _at(clock, t0, 15)
    handoffs.deliver(db.uow(), brief, actor_email=TOM)
    _at(clock, t0, 16)
    handoffs.confirm(db.uow(), brief, actor_email=OLGA)
    # marketing's open work: Olga's spread over four bands, Marco's later
    for title, due in (("Overdue plan", 18), ("Tomorrow's copy", 30), ("Stand", 24 * 3),
                       ("Someday", None)):
        work.create_work_item(db.uow(), actor_email=ANA, department="marketing", title=title,
                              assignee=OLGA,
                              due_at=t0 + timedelta(hours=due) if due is not None else None)
    work.create_work_item(db.uow(), actor_email=ANA, department="marketing", title="Fair",
                          assignee=MARCO, due_at=t0 + timedelta(days=20))
    code = _campaign(db, t0)
    # last year's third quarter: the campaign's lines (their period is its start year, 40 days
    # ahead) are never in it, whatever day the test runs (this year's was, Jan to Nov)
    period = f"{t0.year - 1}-Q3"
    _period_rows(db, period)
    _at(clock, t0, 20)
    return Desk(t0=t0, brief=brief, leads_list=leads_list, drawings=drawings, campaign=code,
                period=period)


def _campaign(db: Any, t0: datetime) -> str:
    code = "CMP-DESK"
    pid = processes.start_process(db.uow(), process="campaign", business_key=code,
                                  owner_email=OLGA, params={"code": code}).id
    assert pid is not None
    start = t0.date() + timedelta(days=40)
    plan = {"name": "Spring tea", "goal": "more grocers", "target_customers": "grocers",
            "channels": ["ads"], "start": str(start), "end": str(start + timedelta(days=30)),
            "kpis": [{"name": "leads", "target": 100},
                     {"name": "cost per lead", "target": 10, "higher_is_better": False}],
            "activities": [{"title": "Ads", "owner": OLGA, "budget_line": "ads"},
                           {"title": "Leaflets", "owner": OLGA, "budget_line": "print"}],
            "budget_lines": [{"code": "ads", "title": "Online ads", "amount": 1000},
                             {"code": "print", "title": "Leaflets", "amount": 500}]}
    camp = campaigns.record_plan(db.uow(), process_id=pid, code=code, plan=plan,
                                 actor_email=OLGA, owner_email=OLGA)
    assert camp.id is not None
    lines = {a["budget_line"]: a["budget_line_id"]
             for a in campaigns.campaign_figures(db.uow(), camp.id)["activities"]}
    budget.allocate(db.uow(), lines["ads"], amount=1000, actor_email=GRACE)
    budget.allocate(db.uow(), lines["print"], amount=500, actor_email=GRACE)
    budget.record_spend(db.uow(), lines["ads"], amount=700, key="desk-ads", actor_email=OLGA)
    campaigns.record_kpi_actuals(db.uow(), camp.id, actuals={"leads": 120, "cost per lead": 12},
                                 actor_email=OLGA)
    return code


def _period_rows(db: Any, period: str) -> None:
    from mktflow.store.tables import BudgetLine, Kpi

    with db.uow() as u:
        u.session.add_all([
            Kpi(name="stores listed", owner_email=OLGA, department="marketing", period=period,
                target=50, actual=40),
            Kpi(name="complaints closed", owner_email=ANA, department="marketing",
                period=period, target=20, actual=None),
            Kpi(name="samples", owner_email=TOM, department="tech", period=period, target=10,
                actual=12),
            BudgetLine(code="FAIR", title="Trade fair", department="marketing",
                       owner_email=ANA, period=period[:4], planned=6000, allocated=6000,
                       spent=3600, planned_to_date=3000),
            BudgetLine(code="LAB", title="Lab samples", department="tech", owner_email=HANA,
                       period=period, planned=800, allocated=800, spent=200,
                       planned_to_date=400)])
        u.commit()


@pytest.fixture
def desk(db: Any, clock: FrozenClock) -> Desk:
    return _setup(db, clock)


# --- the engine ------------------------------------------------------------------------------


def test_the_workload_spreads_each_members_work_and_measures_every_wait(
        db: Any, desk: Desk) -> None:
    shown = workload.department_workload(db.uow(), "marketing", reader=ANA)
    assert (shown.open, shown.overdue, shown.unassigned) == (5, 1, 0)
    spread = {m.name: (m.open, m.overdue, m.due_within_day, m.due_within_week, m.due_later,
                       m.no_due) for m in shown.members if m.open}
    assert spread == {"Olga Petrova": (4, 1, 1, 1, 0, 1), "Marco Rossi": (1, 0, 0, 0, 1, 0)}
    waits = [(w.waiting, w.on, w.stage, w.waits, w.still_waiting, w.hours, w.median_hours)
             for w in shown.waits]
    assert waits == [
        ("marketing", "sales", "accept", 1, 1, 19.0, 19.0),  # offered at 1 h, now 20 h
        ("marketing", "tech", "accept", 1, 0, 2.0, 2.0),
        ("marketing", "tech", "deliver", 1, 0, 8.0, 8.0),
        ("marketing", "tech", "rework", 1, 0, 3.0, 3.0),  # returned at 12 h, again at 15 h
        ("tech", "marketing", "accept", 1, 0, 1.0, 1.0),
        ("tech", "marketing", "deliver", 1, 1, 15.0, 15.0),  # Olga has had it since 5 h
        ("tech", "marketing", "confirm", 2, 0, 3.0, 1.5),  # 10 -> 12 h and 15 -> 16 h
    ]
    blocking = [(b.department, b.member, b.waiting, b.handoffs, b.hours, b.longest)
                for b in shown.blocking]
    assert blocking == [("sales", None, "marketing", 1, 19.0, f"H-{desk.leads_list}"),
                        ("marketing", OLGA, "tech", 1, 15.0, f"H-{desk.drawings}")]
    assert shown.since == (desk.t0 + timedelta(hours=20) - timedelta(days=90)).date().isoformat()


def test_the_workload_is_for_whoever_leads_the_department_and_management(
        db: Any, desk: Desk) -> None:
    assert workload.department_workload(db.uow(), "marketing", reader=MARIA).open == 5
    assert workload.department_workload(db.uow(), "tech", reader=HANA).waits  # both sides
    for who in (OLGA, TOM):
        with pytest.raises(NotAuthorized, match="may not see the marketing workload"):
            workload.department_workload(db.uow(), "marketing", reader=who)
    with pytest.raises(NotFound, match="department: unknown department 'nope'"):
        workload.department_workload(db.uow(), "nope", reader=None)
    with pytest.raises(BadInput, match="days: must be from 1 to 3650"):
        workload.department_workload(db.uow(), "marketing", reader=None, days=0)


def test_a_campaigns_dashboard_is_its_evaluation(db: Any, desk: Desk) -> None:
    shown = dashboards.campaign_dashboard(db.uow(), desk.campaign, reader=OLGA)
    kpis = [(k.name, k.target, k.actual, k.achievement, k.gap_pct, k.met) for k in shown.kpis]
    assert kpis == [("leads", 100.0, 120.0, 1.2, 20.0, True),
                    ("cost per lead", 10.0, 12.0, 0.8333, -20.0, False)]
    lines = [(b.code, b.title, b.allocated, b.spent, b.remaining) for b in shown.lines]
    assert lines == [("ads", "Online ads", 1000.0, 700.0, 300.0),
                     ("print", "Leaflets", 500.0, 0.0, 500.0)]
    assert (shown.allocated, shown.spent, shown.variance, shown.utilisation,
            shown.cost_per_result, shown.kpis_met, shown.goal_met) == (
        1500.0, 700.0, 800.0, 0.4667, 5.83, 1, False)
    assert dashboards.campaign_dashboard(db.uow(), desk.campaign, reader=MARIA).spent == 700.0
    with pytest.raises(NotAuthorized, match="may not see the parameters of campaign CMP-DESK"):
        dashboards.campaign_dashboard(db.uow(), desk.campaign, reader=TOM)
    with pytest.raises(NotFound, match="code: no campaign 'CMP-NONE'"):
        dashboards.campaign_dashboard(db.uow(), "CMP-NONE", reader=None)


def test_a_periods_dashboard_judges_as_the_review_cycles_and_shows_ones_own(
        db: Any, desk: Desk) -> None:
    everything = dashboards.period_dashboard(db.uow(), desk.period, reader=MARIA)
    kpis = [(k.name, k.department, k.actual, k.gap_pct, k.met) for k in everything.kpis]
    assert kpis == [("stores listed", "marketing", 40.0, -20.0, False),
                    ("complaints closed", "marketing", None, None, None),
                    ("samples", "tech", 12.0, 20.0, True)]
    lines = {b.code: (b.allocated, b.spent, b.over_plan_pct, b.flags) for b in everything.lines}
    assert lines == {
        "FAIR": (6000.0, 3600.0, 20.0, "spent 3,600.00 is 20.0% over the plan to date "
                                       "3,000.00 (tolerance 10%)"),
        "LAB": (800.0, 200.0, -50.0, "")}
    assert (everything.allocated, everything.spent, everything.kpis_met,
            everything.kpis_measured) == (6800.0, 3800.0, 1, 2)
    tech = dashboards.period_dashboard(db.uow(), desk.period, reader=TOM)
    assert [k.name for k in tech.kpis] == ["samples"] and [b.code for b in tech.lines] == ["LAB"]
    with pytest.raises(BadInput, match="period: '2026-13' is no period"):
        dashboards.period_dashboard(db.uow(), "2026-13", reader=None)


def test_waits_are_working_time_where_the_branch_has_a_calendar(
        db: Any, clock: FrozenClock) -> None:
    """HQ keeps Shanghai's calendar (09:00-18:00, China's holidays: 1-7 Oct 2022 off, Sat 8
    and Sun 9 Oct make-up working days): an offer made on Fri 30 Sep at 17:00 and still
    waiting on Mon 10 Oct at 10:00 has waited 1 + 9 + 9 + 1 = 20 working hours."""
    from zoneinfo import ZoneInfo

    from mktflow.domain.organisation import CalendarSpec
    from mktflow.engine.organisation import load_organisation, read_organisation_file

    spec = read_organisation_file(None, demo=True)
    for branch in spec.branches:
        if branch.code == "hq":
            branch.calendar = CalendarSpec(country="CN", time_zone="Asia/Shanghai")
    load_organisation(db.uow(), spec, source="demo with a calendar at hq")
    shanghai = ZoneInfo("Asia/Shanghai")
    clock.set(datetime(2022, 9, 30, 17, tzinfo=shanghai).astimezone(UTC))
    handoffs.offer(db.uow(), actor_email=ANA, from_department="marketing",
                   to_department="tech", title="Brief", due_at=None)
    clock.set(datetime(2022, 10, 10, 10, tzinfo=shanghai).astimezone(UTC))
    shown = workload.department_workload(db.uow(), "marketing", reader=ANA)
    assert [(w.on, w.stage, w.hours) for w in shown.waits] == [("tech", "accept", 20.0)]


# --- the doors -------------------------------------------------------------------------------


@pytest.fixture
def served(db: Any, desk: Desk) -> Iterator[tuple[str, dict[str, str]]]:
    from mktflow.api.app import create_app
    from mktflow.config import Settings

    tokens = member_tokens(db)
    with serving(create_app(db.engine, settings=Settings())) as url:
        yield url, tokens


def test_the_command_line_prints_them_and_refuses_bad_input(desk: Desk, cli: Any) -> None:
    shown = cli("dashboard", "workload", "marketing", "--as", ANA, "--json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["blocking"][0]["longest"] == f"H-{desk.leads_list}"
    text = cli("dashboard", "workload", "marketing").stdout
    assert "Olga Petrova" in text and "who is blocking whom" in text
    assert cli("dashboard", "workload", "marketing", "--as", OLGA).exit_code == 1
    assert cli("dashboard", "workload", "marketing", "--days", "0").exit_code == 2
    board = cli("dashboard", "campaign", desk.campaign, "--as", OLGA, "--json").json()
    assert [k["met"] for k in board["kpis"]] == [True, False]
    period = cli("dashboard", "period", desk.period, "--as", ANA, "--json").json()
    assert [b["code"] for b in period["lines"]] == ["FAIR"]
    bad = cli("dashboard", "period", "2026-13")
    assert bad.exit_code == 2 and "period:" in bad.stderr


def test_the_api_answers_the_figures_and_the_pages_chart_them_beside_their_tables(
        db: Any, desk: Desk, served: tuple[str, dict[str, str]]) -> None:
    url, tokens = served

    def get(who: str, path: str) -> httpx.Response:
        return httpx.get(url + path, headers=bearer(tokens[who]), timeout=10)

    load = get(ANA, "/inbox/marketing/workload").json()
    assert [(b["department"], b["hours"]) for b in load["blocking"]] == [
        ("sales", 19.0), ("marketing", 15.0)]
    assert get(OLGA, "/inbox/marketing/workload").status_code == 403
    assert get(ANA, "/inbox/marketing/workload?days=0").status_code == 422
    board = get(OLGA, f"/dashboards/campaigns/{desk.campaign}").json()
    assert (board["allocated"], board["spent"], board["kpis"][0]["achievement"]) == (
        1500.0, 700.0, 1.2)
    assert get(TOM, f"/dashboards/campaigns/{desk.campaign}").status_code == 403
    tech = get(TOM, f"/dashboards/periods/{desk.period}").json()
    assert [k["name"] for k in tech["kpis"]] == ["samples"]
    refused = get(TOM, "/dashboards/periods/2026-13")
    assert refused.status_code == 422 and "period" in refused.text

    ana, tom = Browser(url), Browser(url)
    try:
        ana.sign_in(db, ANA)
        load = ana.get("/inbox/marketing/load")
        assert load.status_code == 200
        assert load.text.count('role="img"') == 2 and "<script" not in load.text
        assert '<title id="chart-waits-title">' in load.text
        assert "<td>sales</td><td>19.0</td><td>0.0</td>" in load.text
        assert f'<a href="/handoffs/{desk.leads_list}">H-{desk.leads_list}</a>' in load.text
        board = ana.get(f"/dashboards/campaigns/{desk.campaign}")
        assert board.status_code == 200 and board.text.count('role="img"') == 2
        assert "<td>1,000.00</td><td>700.00</td><td>300.00</td>" in board.text
        assert 'href="/static/charts.css"' in board.text
        period = ana.get(f"/dashboards/periods/{desk.period}")
        assert period.status_code == 200 and "stores listed" in period.text
        assert "samples" not in period.text  # tech's KPI
        tom.sign_in(db, TOM)
        assert tom.get("/inbox/marketing/load").status_code == 403
        refused = tom.get(f"/dashboards/campaigns/{desk.campaign}")
        assert refused.status_code == 403 and "Online ads" not in refused.text
    finally:
        ana.client.close()
        tom.client.close()
