"""The recurring cycles on a real Prefect server; the numbers are checked in the artifacts."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from tests.integration.test_reports import OLGA, OMAR, TOM, Script

pytestmark = pytest.mark.flows

MARCO = "marco.rossi@example.com"
SOFIA = "sofia.lopez@example.com"


def run_flow(fn: Any, **params: Any) -> tuple[Any, dict[str, Any]]:
    """Run a flow in-process; its return value and its artifacts by key."""
    from mktflow.prefect.artifacts import read_artifacts

    state = fn(**params, return_state=True)
    assert state.is_completed(), state.message
    return state.result(), read_artifacts(str(state.state_details.flow_run_id))


def cycle_runs(db: Any, cycle: str) -> list[Any]:
    from mktflow.store.tables import CycleRun

    with db.uow() as u:
        return list(u.session.exec(select(CycleRun).where(col(CycleRun.cycle) == cycle)
                                   .order_by(col(CycleRun.period))))


# --- process review -----------------------------------------------------------------------


def test_process_review_ledger_skipped_cycle_and_carried_handoffs(cycle_db: Any) -> None:
    import tests.integration.test_reports as scenario
    from flows.process_review import process_review

    # July: one handoff that is overdue and still open when July is reviewed.
    july = datetime(2026, 7, 6, 9, tzinfo=UTC)
    old = Script(cycle_db)
    scenario_t0, scenario.T0 = scenario.T0, july
    try:
        stuck = old.offer(0, "tech", 24, "July prototype")
        settled = old.offer(0, "tech", 24, "July drawings")
        # September: the scenario whose medians are worked out in test_reports.
        scenario.T0 = datetime(2026, 9, 2, 9, tzinfo=UTC)
        s = Script(cycle_db)
        h1 = s.offer(0, "tech", 48)
        s.act(2, h1, "accept", TOM)
        s.act(10, h1, "deliver", TOM)
        h2 = s.offer(0, "tech", 24)
        s.act(4, h2, "accept", TOM)
        s.act(30, h2, "deliver", TOM)
        s.act(31, h2, "return", OLGA, "label missing")
        s.act(40, h2, "deliver", TOM)
        s.act(41, h2, "return", OLGA, "label missing")
        s.act(50, h2, "deliver", TOM)
        h3 = s.offer(0, "tech", 72)
        s.act(10, h3, "accept", TOM)
        s.act(16, h3, "deliver", TOM)
        s.act(20, h3, "return", OLGA, "wrong size")
        s.act(22, h3, "deliver", TOM)
        h4 = s.offer(0, "tech", 24)
        s.act(1, h4, "reject", TOM, "no capacity")
        s.offer(0, "tech", 24, "never touched")
        h6 = s.offer(0, "finance", 24)
        s.act(1, h6, "accept", OMAR)
        s.act(3, h6, "deliver", OMAR)
        for hours in (10, 30, 20):
            s.step("campaign", "approve-budget", 0, hours)
        s.step("campaign", "brief", 0, 5)
        from mktflow.engine import work  # marketing's one classified item: a fire (seed 000)

        work.create_work_item(cycle_db.uow(lambda: scenario.T0), actor_email=OLGA,
                              department="marketing", title="Dealer fire", urgent=True)
    finally:
        scenario.T0 = scenario_t0

    july_summary, july_art = run_flow(process_review, period="2026-07")
    assert july_summary["overdue_open"] == 2 and july_summary["skipped_periods"] == []
    # The drawings arrive after the July review; the prototype never does.
    s.act(200, settled, "accept", TOM)
    s.act(201, settled, "deliver", TOM)

    summary, art = run_flow(process_review, period="2026-09")
    assert summary["skipped_periods"] == ["2026-08"]
    assert summary["carried_in"] == 2 and summary["carried_settled"] == 1
    pairs = {(r["from"], r["to"]): r for r in art["process-review-pairs"]}
    tech = pairs[("marketing", "tech")]
    assert tech["offered"] == 5
    assert (tech["median_hours_to_accept"], tech["median_hours_to_deliver"]) == (4.0, 8.0)
    assert tech["rejection_rate"] == 0.2 and tech["rejections_by_reason"] == "no capacity (1)"
    assert tech["return_rate"] == pytest.approx(0.6667)
    assert tech["returns_by_reason"] == "label missing (2); wrong size (1)"
    assert tech["rework_loops"] == 1 and tech["overdue_share"] == 0.5
    assert pairs[("marketing", "finance")]["median_hours_to_deliver"] == 2.0
    slowest = {r["process"]: (r["step"], r["median_hours"])
               for r in art["process-review-slowest-steps"]}
    assert slowest == {"campaign": ("approve-budget", 20.0)}
    report = art["process-review-report"]
    assert "**Skipped cycle:** no process-review ran for 2026-08" in report
    assert "| marketing | tech | 5 | 4.00 | 8.00 | 20% | no capacity (1) | 67% |" in report
    assert f"H-{stuck}" in report and "never touched" in report
    assert summary["below_balance_floor"] == ["marketing"]  # the others: nothing classified
    assert "- marketing: important-not-urgent work is 0.0% of the department's" in report

    runs = cycle_runs(cycle_db, "process-review")
    assert [r.period for r in runs] == ["2026-07", "2026-09"]
    carried_refs = {c["ref"] for c in runs[1].open_items}
    assert f"H-{stuck}" in carried_refs and f"H-{settled}" not in carried_refs
    assert runs[1].status == "completed" and runs[1].finished_at is not None
    assert july_art["process-review-pairs"][0]["offered"] == 2


# --- market research ----------------------------------------------------------------------


def _collection_item(db: Any, period: str, topic: str) -> Any:
    from mktflow.store.tables import ProcessInstance, WorkItem

    with db.uow() as u:
        return u.session.exec(
            select(WorkItem).join(ProcessInstance,
                                  col(WorkItem.process_id) == col(ProcessInstance.id))
            .where(col(ProcessInstance.business_key) == f"market-research/{period}",
                   col(WorkItem.step_key).startswith(f"collect/{topic}/"))).one()


def test_market_research_compiles_findings_lists_missing_and_carries_them(
        cycle_db: Any) -> None:
    from flows.market_research import market_research
    from mktflow.engine import work
    from mktflow.store.tables import OutboxMessage, WorkItem

    first, _ = run_flow(market_research, period="2026-09", due_days=0)
    assert (first["findings"], first["missing"], first["collecting"], first["readers"]) == (
        0, 0, 3, [])
    consumer = _collection_item(cycle_db, "2026-09", "consumer")
    market = _collection_item(cycle_db, "2026-09", "market")
    competitor = _collection_item(cycle_db, "2026-09", "competitor")
    assert (consumer.assignee_email, market.assignee_email, competitor.assignee_email) == (
        MARCO, OLGA, SOFIA)  # the topics dealt round the specialists
    work.complete(cycle_db.uow(), consumer.id, actor_email=MARCO,
                  data={"summary": "Young buyers switch to refills", "sources": "survey"})
    work.complete(cycle_db.uow(), market.id, actor_email=OLGA,
                  data={"summary": "Segment grows 4% a year"})

    second, art = run_flow(market_research, period="2026-11",
                           assignments=[{"topic": "competitor", "member": MARCO}])
    assert second["skipped_periods"] == ["2026-10"]
    assert (second["findings"], second["missing"], second["collecting"]) == (2, 1, 1)
    found = {(r["topic"], r["member"]): r for r in art["market-research-findings"]}
    assert found[("consumer", MARCO)]["summary"] == "Young buyers switch to refills"
    assert found[("market", OLGA)]["period"] == "2026-09"
    assert found[("consumer", MARCO)]["late"] is True  # due the day it was assigned
    [missing] = art["market-research-missing"]
    assert (missing["topic"], missing["member"], missing["holder"], missing["period"]) == (
        "competitor", SOFIA, SOFIA, "2026-09")
    assert missing["ref"] == f"W-{competitor.id}"
    report = art["market-research-report"]
    assert "**Skipped cycle:** no market-research ran for 2026-08" not in report
    assert "**Skipped cycle:** no market-research ran for 2026-10" in report
    assert "Segment grows 4% a year" in report and f"W-{competitor.id}" in report
    with cycle_db.uow() as u:
        readers = list(u.session.exec(select(WorkItem).where(
            col(WorkItem.step_key).startswith("report/"))))
        assert sorted(r.department for r in readers) == ["management", "sales"]
        assert all("2 finding(s), 1 missing" in r.description for r in readers)
        told = u.session.exec(select(OutboxMessage).where(
            col(OutboxMessage.event) == "work.created",
            col(OutboxMessage.department) == "management")).all()
        assert any("Market research report 2026-11" in m.subject for m in told)

    # Sofia hands in late; the next round compiles it, the November step is still missing.
    work.complete(cycle_db.uow(), competitor.id, actor_email=SOFIA,
                  data={"summary": "Rival cut prices 5%"})
    third, art3 = run_flow(market_research, period="2026-12",
                           assignments=[{"topic": "market", "member": OLGA}])
    assert (third["findings"], third["missing"], third["skipped_periods"]) == (1, 1, [])
    assert art3["market-research-findings"][0]["member"] == SOFIA
    assert art3["market-research-missing"][0]["member"] == MARCO
    runs = cycle_runs(cycle_db, "market-research")
    assert [len(r.carried) for r in runs] == [0, 3, 2]
    assert len(runs[2].open_items) == 2  # Marco's November step and Olga's December one


# --- deployments served -------------------------------------------------------------------


def _wait_for_deployment(name: str, serve: Any, timeout: float = 240) -> Any:
    import time

    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            assert serve.poll() is None, "mktflow serve exited early"
            try:
                return client.read_deployment_by_name(name)
            except ObjectNotFound:
                time.sleep(0.5)
    raise AssertionError(f"{name} was never served")


def test_serve_registers_each_cycle_with_its_cron_and_zone_and_runs_a_deployment_run(
        cycle_db: Any, tmp_path: Path) -> None:
    """What ``mktflow serve`` registers and runs; that schedules fire is proven in tests/e2e/."""
    import json
    import re
    import signal
    import subprocess
    import sys

    import httpx
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    from deployments.catalog import CATALOG, load
    from mktflow.domain.cycles import CYCLES

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()),
           "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "MKTFLOW_DATABASE_URL": cycle_db.url, "MKTFLOW_SCHEDULE_TZ": "Europe/Madrid",
           # the notification flows every minute would only add noise to this test
           "MKTFLOW_SCHEDULE_CRONS": json.dumps({"process-review": "30 5 1 * *",
                                                 "outbox-relay": "", "sla-sweep": ""})}
    log = open(tmp_path / "serve.log", "w+b")  # noqa: SIM115 - closed below
    serve = subprocess.Popen([sys.executable, "-m", "mktflow.cli", "serve", "--no-api"],
                             env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deployment = _wait_for_deployment("process-review/process-review", serve)
        [schedule] = deployment.schedules
        assert (schedule.schedule.cron, schedule.schedule.timezone) == (
            "30 5 1 * *", "Europe/Madrid")  # the override, in the configured zone
        loaded = {e.spec.name for e in load() if e.flow is not None}
        assert {"process-review", "market-research"} <= loaded
        for name in sorted(loaded & set(CYCLES)):
            served = _wait_for_deployment(f"{name}/{name}", serve)
            crons = [(s.schedule.cron, s.schedule.timezone) for s in served.schedules]
            expected = "30 5 1 * *" if name == "process-review" else CYCLES[name].cron
            assert crons == [(expected, "Europe/Madrid")], name
        for spec in CATALOG:
            if spec.cron is None and spec.name in loaded:
                assert _wait_for_deployment(f"{spec.name}/{spec.name}", serve).schedules == []
        flow_run = run_deployment("process-review/process-review",
                                  parameters={"period": "2026-10"}, timeout=120)
        assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state
        assert flow_run.deployment_id == deployment.id  # run by the served runner
    finally:
        serve.send_signal(signal.SIGINT)
        try:
            serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.seek(0)
        output = log.read().decode(errors="replace")
        log.close()
    assert "serving" in output, output
    ui = re.search(r"Prefect UI: +(http://127\.0\.0\.1:\d+)/deployments\s", output)
    assert ui is not None and str(PREFECT_API_URL.value()).startswith(ui[1]), output
    # the test harness serves the API under that address, not the UI pages
    health = httpx.get(f"{ui[1]}/api/health", timeout=10)
    assert health.status_code == 200 and health.json() is True, health.text
    assert serve.returncode == 0, output  # Ctrl-C stops it cleanly and leaves schedules on
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        assert not client.read_deployment_by_name("process-review/process-review").paused
    runs = cycle_runs(cycle_db, "process-review")
    assert [(r.period, r.status, r.flow_run_id) for r in runs] == [
        ("2026-10", "completed", str(flow_run.id))]


# --- budget review ------------------------------------------------------------------------

ANA = "ana.torres@example.com"  # marketing head
MARIA = "maria.garcia@example.com"  # management head


def _add(db: Any, *rows: Any) -> None:
    with db.uow() as u:
        u.session.add_all(rows)
        u.commit()


def _item(db: Any, ref: str) -> Any:
    from mktflow.store.tables import WorkItem

    with db.uow() as u:
        return u.session.get(WorkItem, int(ref.split("-")[1]))


def test_budget_review_flags_overruns_and_unguaranteed_key_projects(cycle_db: Any) -> None:
    from flows.budget_review import budget_review
    from mktflow.engine import work
    from mktflow.store.tables import BudgetLine

    def line(code: str, owner: str, planned: float, allocated: float, spent: float,
             to_date: float) -> BudgetLine:
        return BudgetLine(code=code, title=f"Line {code}", department="marketing",
                          owner_email=owner, period="2026", planned=planned,
                          allocated=allocated, spent=spent, planned_to_date=to_date)

    _add(cycle_db,
         line("L1", ANA, 12000, 12000, 5000, 5000),  # on plan, key project guaranteed
         line("L2", OLGA, 6000, 6000, 3600, 3000),  # 20% over plan to date
         line("L3", MARCO, 5000, 2000, 2100, 2000),  # 5% over (in tolerance), over allocation
         line("L4", ANA, 20000, 15000, 1000, 1000),  # key project, allocation short
         line("L5", SOFIA, 1000, 1000, 100, 0))  # spent with nothing planned to date

    first, art = run_flow(budget_review, period="2026-10")
    assert (first["lines"], first["flagged"], first["unguaranteed"]) == (5, 3, 1)
    rows = {r["line"]: r for r in art["budget-review-lines"]}
    assert (rows["L2"]["over_plan_pct"], rows["L3"]["over_plan_pct"]) == (20.0, 5.0)
    assert rows["L2"]["flags"] == ("spent 3,600.00 is 20.0% over the plan to date 3,000.00 "
                                   "(tolerance 10%)")
    assert rows["L3"]["flags"] == "spent 2,100.00 exceeds the allocation 2,000.00"
    assert rows["L5"]["flags"] == "spent 100.00 with nothing planned to date"
    assert rows["L1"]["flags"] == "" and rows["L1"]["ref"] is None
    assert [r["line"] for r in rows.values() if r["unguaranteed"]] == ["L4"]
    assert _item(cycle_db, rows["L2"]["ref"]).assignee_email == OLGA
    assert _item(cycle_db, rows["L4"]["finance_ref"]).department == "finance"
    assert "## Key projects without guaranteed resources (1), to finance" in art[
        "budget-review-report"]

    work.complete(cycle_db.uow(), _item(cycle_db, rows["L2"]["ref"]).id, actor_email=OLGA,
                  data={"action": "re-plan", "explanation": "Fair moved to October",
                        "new_planned_to_date": 3600})
    second, art2 = run_flow(budget_review, period="2026-11")
    assert (second["explained"], second["unexplained_carried"], second["flagged"]) == (1, 2, 3)
    rows2 = {r["line"]: r for r in art2["budget-review-lines"]}
    assert rows2["L2"]["ref"] is not None  # explained last month, still over: asked again
    assert rows2["L3"]["ref"] is None and rows2["L5"]["ref"] is None  # still open: carried
    report = art2["budget-review-report"]
    assert "Fair moved to October" in report and "re-plan" in report
    assert "## Still unexplained (2), carried" in report
    assert len(cycle_runs(cycle_db, "budget-review")[1].open_items) == 3


# --- performance appraisal ----------------------------------------------------------------


def _handoff(db: Any, by: str, to: str, receiver: str, due: datetime,
             delivered: datetime) -> None:
    from datetime import timedelta

    from mktflow.engine import handoffs

    h = handoffs.offer(db.uow(lambda: due - timedelta(days=5)), actor_email=by,
                       from_department="marketing", to_department=to, title=f"for {by}",
                       due_at=due)
    handoffs.accept(db.uow(lambda: due - timedelta(days=4)), h.id, actor_email=receiver)
    handoffs.deliver(db.uow(lambda: delivered), h.id, actor_email=receiver)


def test_performance_appraisal_shows_delays_caused_by_others(cycle_db: Any) -> None:
    from flows.performance_appraisal import performance_appraisal
    from mktflow.engine import work
    from mktflow.store.tables import Appraisal, Kpi

    def kpi(name: str, owner: str, target: float, actual: float | None,
            higher: bool = True) -> Kpi:
        return Kpi(name=name, owner_email=owner, department="marketing", period="2026-Q3",
                   target=target, actual=actual, higher_is_better=higher)

    _add(cycle_db, kpi("leads", OLGA, 100, 80), kpi("ctr", OLGA, 2, 2.5),
         kpi("stores", MARCO, 50, 55), kpi("cost per lead", MARCO, 10, 12, higher=False),
         kpi("complaints closed", SOFIA, 20, None))
    _handoff(cycle_db, OLGA, "tech", TOM, datetime(2026, 7, 10, 12, tzinfo=UTC),
             datetime(2026, 7, 13, 12, tzinfo=UTC))  # 3 days late
    _handoff(cycle_db, OLGA, "finance", OMAR, datetime(2026, 8, 1, 12, tzinfo=UTC),
             datetime(2026, 8, 4, tzinfo=UTC))  # 2.5 days late
    _handoff(cycle_db, MARCO, "tech", TOM, datetime(2026, 8, 10, 12, tzinfo=UTC),
             datetime(2026, 8, 9, tzinfo=UTC))  # early

    first, art = run_flow(performance_appraisal, period="2026-Q3")
    assert (first["appraisals"], first["missed_kpis"]) == (4, 4)  # 2 by members, 2 in dept
    kpis = {(r["subject"], r["kpi"]): r for r in art["performance-appraisal-kpis"]}
    assert kpis[(OLGA, "leads")]["met"] == "MISSED"
    assert kpis[(OLGA, "leads")]["gap_pct"] == -20.0
    assert kpis[(OLGA, "leads")]["delay_days_from_others"] == 5.5
    assert kpis[(OLGA, "ctr")]["delay_days_from_others"] == 0.0  # met: nothing to excuse
    assert kpis[(MARCO, "cost per lead")]["met"] == "MISSED"
    assert kpis[(MARCO, "cost per lead")]["gap_pct"] == -20.0
    assert kpis[(MARCO, "cost per lead")]["delay_days_from_others"] == 0.0
    assert kpis[(SOFIA, "complaints closed")]["met"] == "no actual"
    assert kpis[("marketing", "leads")]["delay_days_from_others"] == 5.5
    appraisals = {a["subject"]: a for a in art["performance-appraisal-appraisals"]}
    assert appraisals[OLGA]["attainment"] == 0.5 and appraisals[SOFIA]["attainment"] is None
    assert appraisals["marketing"]["attainment"] == 0.5
    assert appraisals[OLGA]["signer"] == ANA and appraisals["marketing"]["signer"] == MARIA
    olga_item = _item(cycle_db, appraisals[OLGA]["ref"])
    assert olga_item.excluded == [OLGA]

    work.complete(cycle_db.uow(), olga_item.id, actor_email=ANA,
                  data={"result": "training", "comment": "late inputs from tech noted"})
    second, art2 = run_flow(performance_appraisal, period="2026-Q4")
    assert (second["results_recorded"], second["unsigned_carried"]) == (1, 3)
    with cycle_db.uow() as u:
        signed = u.session.exec(select(Appraisal).where(col(Appraisal.subject) == OLGA)).one()
        assert (signed.result, signed.signed_by) == ("training", ANA)
    assert "late inputs from tech noted" in art2["performance-appraisal-report"]


# --- channel evaluation -------------------------------------------------------------------


def test_channel_evaluation_scores_flags_and_applies_decisions(cycle_db: Any) -> None:
    from flows.channel_evaluation import channel_evaluation
    from mktflow.engine import reviews, work
    from mktflow.store.tables import Distributor

    carlos = "carlos.mendez@example.com"
    for code in ("D1", "D2", "D3"):
        reviews.add_distributor(cycle_db.uow(), code=code, name=f"Dist {code}",
                                owner_email=carlos, actor_email=carlos)
    reviews.record_distributor_figures(cycle_db.uow(), code="D1", period="2026-Q3",
                                       actor_email=carlos, figures={
                                           "sales": 120, "target": 100, "days_late": 0,
                                           "coverage": 0.9, "complaints": 0})
    reviews.record_distributor_figures(cycle_db.uow(), code="D2", period="2026-Q3",
                                       actor_email=carlos, figures={
                                           "sales": 40, "target": 100, "days_late": 15,
                                           "coverage": 0.5, "complaints": 3})

    first, art = run_flow(channel_evaluation, period="2026-Q3")
    assert (first["distributors"], first["flagged"]) == (3, 2)
    rows = {r["distributor"]: r for r in art["channel-evaluation-scores"]}
    assert rows["D1"]["total"] == 98.0 and rows["D1"]["flagged"] is False
    assert (rows["D2"]["sales_vs_target"], rows["D2"]["payment_discipline"],
            rows["D2"]["coverage"], rows["D2"]["complaints"]) == (40.0, 50.0, 50.0, 40.0)
    assert rows["D2"]["total"] == 45.0
    assert rows["D2"]["reasons"] == "score 45 below 60 (weakest: sales_vs_target 40)"
    assert rows["D3"]["total"] == 0.0 and "no figures for coverage" in rows["D3"]["reasons"]
    d2_item = _item(cycle_db, rows["D2"]["ref"])
    assert d2_item.assignee_email == ANA

    work.complete(cycle_db.uow(), d2_item.id, actor_email=ANA,
                  data={"decision": "remove", "note": "third weak quarter"})
    second, art2 = run_flow(channel_evaluation, period="2026-Q4")
    assert (second["decisions_applied"], second["undecided_carried"]) == (1, 1)
    rows2 = {r["distributor"]: r for r in art2["channel-evaluation-scores"]}
    assert set(rows2) == {"D1", "D3"}  # D2 was removed
    assert rows2["D3"]["ref"] is None  # its decision is still open: not asked twice
    assert rows2["D1"]["flagged"] is True  # no Q4 figures yet
    with cycle_db.uow() as u:
        d2 = u.session.exec(select(Distributor).where(col(Distributor.code) == "D2")).one()
        assert d2.status == "removed"
    assert "third weak quarter" in art2["channel-evaluation-report"]


# --- annual planning ----------------------------------------------------------------------


def test_annual_planning_collects_items_and_reports_the_balance(cycle_db: Any) -> None:
    from flows.annual_planning import annual_planning
    from mktflow.engine import work

    first, art = run_flow(annual_planning, period="2027")
    assert (first["total"], first["departments_missing"]) == (0, ["marketing", "sales"])
    assert art["annual-planning-warnings"] == [{"note": "none"}]
    assert "## Departments still to hand in (2)" in art["annual-planning-report"]
    marketing = _collection_plan_step(cycle_db, "marketing")
    assert marketing.assignee_email == ANA
    items = [
        {"id": "S", "title": "Strategy 2027", "category": "strategy", "owner": MARIA,
         "goal": "Lead refills", "resources": "board days"},
        {"title": "Marketing plan 2027", "category": "marketing plan", "owner": ANA,
         "goal": "+2 share points", "resources": "budget", "parent": "S"},
        {"title": "Spring promotion", "category": "promotion plan", "owner": OLGA,
         "goal": "+10% April", "resources": "", "parent": "Marketing plan 2027"},
        {"title": "Distributor training", "category": "sales support", "owner": "",
         "goal": "40 trained", "resources": "travel", "parent": "Marketing plan 2027"},
        {"title": "Trade fair", "category": "sales support", "owner": MARCO,
         "goal": "200 leads", "resources": "stand", "parent": "Plan 2026",
         "important": "yes", "urgent": "yes"},
    ]
    work.complete(cycle_db.uow(), marketing.id, actor_email=ANA, data={"items": items})

    second, art2 = run_flow(annual_planning, period="2027")
    assert (second["total"], second["future_share"]) == (5, 0.2)
    assert second["departments_missing"] == ["sales"]
    [bal] = art2["annual-planning-balance"]
    assert (bal["present"], bal["future"], bal["below_floor"]) == (4, 1, True)
    warnings = [w["warning"] for w in art2["annual-planning-warnings"]]
    assert warnings[0].startswith("future work is 20.0% of the plan (1 of 5 items)")
    assert "2 item(s) lack an owner, a goal or resources" in warnings
    report = art2["annual-planning-report"]
    assert "| marketing item 3 | Spring promotion | resources |" in report
    assert "broken-link" in report and "Plan 2026" in report
    assert ("**Importance and urgency (seed 000):** important-urgent 1, important-not-urgent 1, "
            "urgent-not-important 3, neither 0.") in report  # the rest from their horizon
    runs = cycle_runs(cycle_db, "annual-planning")
    assert len(runs) == 1 and len(runs[0].open_items) == 1  # sales still owes its items


def _collection_plan_step(db: Any, department: str) -> Any:
    from mktflow.store.tables import WorkItem

    with db.uow() as u:
        return u.session.exec(select(WorkItem).where(
            col(WorkItem.step_key) == f"plan/{department}")).one()
