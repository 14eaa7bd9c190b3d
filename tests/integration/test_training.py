"""Training from appraisal (seed 001, 团队建设规范 5.1 and 绩效评估 3; seed 003 §1(1); issue 23
item 4): a missed KPI makes a training need, the department's plan is prepared in a step and
approved by its head, the session's owner records attendance, and the next appraisal shows
the training and the change of attainment; who may read a member's training. On SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from mktflow.domain.errors import FormInvalid, NotAuthorized
from mktflow.engine import actions, cycles, reviews, training
from mktflow.store.tables import Kpi, WorkItem

OLGA = "olga.petrova@example.com"  # marketing specialist, hq: misses a KPI
LI = "li.na@example.com"  # marketing deputy: prepares the plan, holds the session
ANA = "ana.torres@example.com"  # marketing head: approves
MARCO = "marco.rossi@example.com"  # marketing specialist: meets his KPI
TOM = "tom.berg@example.com"  # tech
MARIA = "maria.garcia@example.com"  # management


def add_kpis(db: Any, period: str, olga_actual: float) -> None:
    """Olga's two KPIs of ``period`` (leads: target 100; ctr met) and Marco's one (met)."""
    with db.uow() as u:
        u.session.add_all([
            Kpi(name="leads", owner_email=OLGA, department="marketing", period=period,
                target=100, actual=olga_actual),
            Kpi(name="ctr", owner_email=OLGA, department="marketing", period=period,
                target=2, actual=2.5),
            Kpi(name="stores", owner_email=MARCO, department="marketing", period=period,
                target=50, actual=55)])
        u.commit()


def _appraise(db: Any, period: str, olga_actual: float) -> list[dict[str, Any]]:
    add_kpis(db, period, olga_actual)
    run = cycles.begin_cycle(db.engine_uow(), cycle="performance-appraisal", period=period)
    return reviews.appraise(db.engine_uow(), run_id=run.id)


def _item(db: Any, ref: str | None) -> WorkItem:
    assert ref is not None
    with db.uow() as u:
        item = u.session.get(WorkItem, int(ref[2:]))
        assert item is not None
        return item


def answer(db: Any, ref: str | None, who: str, data: dict[str, Any]) -> None:
    """Answer a step as every door does (the action table's complete)."""
    item = _item(db, ref)
    if item.state == "open":
        actions.perform(db.uow(), "work", item.id, "claim", actor_email=who)
    actions.perform(db.uow(), "work", item.id, "complete", actor_email=who, data=data)


def session_of(**changes: Any) -> dict[str, Any]:
    return {"topic": "Lead qualification", "participants": [OLGA], "owner": LI,
            "starts_on": "2026-07-13", "ends_on": "2026-07-14", **changes}


def needs_and_plan(db: Any, period: str) -> dict[str, Any]:
    """Olga's need from a missed KPI of ``period`` and marketing's plan step for it."""
    _appraise(db, period, olga_actual=50)
    run = cycles.begin_cycle(db.engine_uow(), cycle="training", period=period)
    training.raise_needs(db.engine_uow(), run_id=run.id)
    [plan] = training.open_plans(db.engine_uow(), run_id=run.id)
    return plan


def test_a_missed_kpi_is_trained_and_the_next_appraisal_shows_it(db: Any) -> None:
    _appraise(db, "2026-Q2", olga_actual=50)
    run = cycles.begin_cycle(db.engine_uow(), cycle="training", period="2026-Q2")
    needs = training.raise_needs(db.engine_uow(), run_id=run.id)
    assert [(n["member"], n["topics"]) for n in needs] == [(OLGA, "leads")]  # not Marco
    assert training.raise_needs(db.engine_uow(), run_id=run.id) == needs  # once per appraisal
    [plan] = training.open_plans(db.engine_uow(), run_id=run.id)
    assert (plan["department"], plan["status"]) == ("marketing", "preparing")

    with pytest.raises(FormInvalid) as refused:  # the rules, at the step's every door
        answer(db, plan["step"], LI, {"sessions": [session_of(
            owner="nobody@example.com", ends_on="2026-07-01")]})
    assert "sessions.0.owner: nobody@example.com is not an active member" in str(refused.value)
    assert "sessions.0.ends_on: 2026-07-01 is before the first day" in str(refused.value)
    answer(db, plan["step"], LI, {"sessions": [session_of()]})
    [shown] = training.list_plans(db.uow(), period="2026-Q2")
    assert (shown.status, shown.prepared_by) == ("submitted", LI)
    approval = _item(db, shown.approval_step)
    assert (approval.assignee_email, approval.excluded) == (ANA, [LI])  # four eyes

    answer(db, shown.approval_step, ANA, {"decision": "approve"})
    [shown] = training.list_plans(db.uow(), period="2026-Q2")
    assert (shown.status, shown.approved_by) == ("approved", ANA)
    [session] = shown.sessions
    attendance = _item(db, session.attendance_step)
    assert attendance.assignee_email == LI  # the session's owner records who came
    with pytest.raises(FormInvalid):  # only a participant can have attended
        answer(db, session.attendance_step, LI, {"attended": [MARCO]})
    answer(db, session.attendance_step, LI, {"attended": [OLGA]})
    assert training.list_plans(db.uow(), period="2026-Q2")[0].sessions[0].attended == [OLGA]
    assert training.list_needs(db.uow(), member=OLGA)[0].covered

    later = {a["subject"]: a for a in _appraise(db, "2026-Q3", olga_actual=120)}
    assert later[OLGA]["training"] == ["Lead qualification"]
    assert later[OLGA]["attainment_change"] == 50.0  # 50% of KPIs met, then 100%
    assert "Lead qualification" in _item(db, later[OLGA]["ref"]).description
    assert later[MARCO]["training"] == []
    record = training.member_training(db.uow(), OLGA, reader=ANA)
    assert [(a.period, a.attainment_change, [s.topic for s in a.training])
            for a in record.appraisals] == [("2026-Q3", 50.0, ["Lead qualification"]),
                                             ("2026-Q2", None, [])]
    assert [n.topics for n in record.needs] == [["leads"]]


def test_a_returned_plan_is_prepared_again_and_only_its_people_read_a_members_training(
        db: Any) -> None:
    _appraise(db, "2026-Q1", olga_actual=10)
    run = cycles.begin_cycle(db.engine_uow(), cycle="training", period="2026-Q1")
    training.raise_needs(db.engine_uow(), run_id=run.id)
    [plan] = training.open_plans(db.engine_uow(), run_id=run.id)
    answer(db, plan["step"], LI, {"sessions": [session_of()]})
    [shown] = training.list_plans(db.uow(), period="2026-Q1")
    answer(db, shown.approval_step, ANA, {"decision": "return", "note": "two days"})
    [again] = training.list_plans(db.uow(), period="2026-Q1")
    assert (again.status, again.returns, again.sessions) == ("preparing", 1, [])
    assert _item(db, again.prepare_step).draft == {"sessions": [session_of()]}

    for reader in (OLGA, ANA, MARIA):  # the member, their head, management
        assert training.member_training(db.uow(), OLGA, reader=reader).needs
        assert [n.member for n in training.list_needs(db.uow(), reader=reader)] == [OLGA]
    for reader in (MARCO, TOM):  # a colleague, another department
        with pytest.raises(NotAuthorized):
            training.member_training(db.uow(), OLGA, reader=reader)
        assert training.list_needs(db.uow(), reader=reader) == []
    assert training.list_plans(db.uow(), reader=TOM) == []  # marketing's plan: its own
    assert training.list_plans(db.uow(), reader=MARCO)


def test_the_command_line_the_api_and_the_page_show_a_members_training(
        db: Any, cli: Any) -> None:
    import httpx

    from mktflow.api.app import create_app
    from mktflow.config import Settings
    from tests.integration.api_support import bearer, member_tokens, serving
    from tests.integration.web_support import Browser

    plan = needs_and_plan(db, "2026-Q2")
    answer(db, plan["step"], LI, {"sessions": [session_of()]})
    needs = cli("training", "needs", "--as", ANA, "--json").json()
    assert [(n["member"], n["topics"], n["covered"]) for n in needs] == [(OLGA, ["leads"],
                                                                          False)]
    assert cli("training", "needs", "--as", MARCO, "--json").json() == []
    shown = cli("training", "plans", "--period", "2026-Q2").stdout
    assert "2026-Q2 marketing: submitted" in shown and "Lead qualification" in shown
    assert "2026-Q2" in cli("training", "member", OLGA, "--as", OLGA).stdout
    refused = cli("training", "member", OLGA, "--as", MARCO, "--json")
    assert refused.exit_code == 1 and "training of olga.petrova" in refused.stdout

    tokens = member_tokens(db)
    with serving(create_app(db.engine, settings=Settings())) as url:
        with httpx.Client(base_url=url, timeout=10) as api:
            record = api.get(f"/training/members/{OLGA}", headers=bearer(tokens[MARIA]))
            assert record.status_code == 200
            assert record.json()["appraisals"][0]["attainment"] == 0.5
            assert api.get(f"/training/members/{OLGA}",
                           headers=bearer(tokens[MARCO])).status_code == 403
            [listed] = api.get("/training/plans", headers=bearer(tokens[LI])).json()
            assert (listed["status"], listed["sessions"][0]["owner"]) == ("submitted", LI)
        browser = Browser(url)
        try:
            browser.sign_in(db, ANA)
            page = browser.get(f"/training?member={OLGA}").text
            assert "Lead qualification" in page and "Appraisals of olga.petrova" in page
            assert ">leads<" in page  # the KPI missed, in the needs' table
        finally:
            browser.client.close()


def test_a_members_kpi_is_set_by_the_head_and_the_appraisal_reads_it(db: Any) -> None:
    kpi = reviews.record_member_kpi(db.uow(), owner_email=OLGA, name="leads", period="2026-Q1",
                                    target=100, actual=None, actor_email=ANA)
    again = reviews.record_member_kpi(db.uow(), owner_email=OLGA, name="leads",
                                      period="2026-Q1", target=90, actual=60, actor_email=MARIA)
    assert again.id == kpi.id and (again.target, again.actual) == (90, 60)  # replaced
    with pytest.raises(NotAuthorized):  # no marketer sets their own goals, nor another dept
        reviews.record_member_kpi(db.uow(), owner_email=OLGA, name="leads", period="2026-Q1",
                                  target=10, actual=10, actor_email=OLGA)
    with pytest.raises(NotAuthorized):
        reviews.record_member_kpi(db.uow(), owner_email=OLGA, name="leads", period="2026-Q1",
                                  target=10, actual=10, actor_email=TOM)
    run = cycles.begin_cycle(db.engine_uow(), cycle="performance-appraisal", period="2026-Q1")
    [member] = [a for a in reviews.appraise(db.engine_uow(), run_id=run.id)
                if a["subject_type"] == "member"]
    assert (member["subject"], [k["met"] for k in member["kpis"]]) == (OLGA, [False])
