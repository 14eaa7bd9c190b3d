"""Training from appraisal (seed 001, 团队建设规范 5.1 and 绩效评估 3; seed 003 §1(1); issue 23
item 4): a missed KPI makes a training need, the department's plan is prepared in a step and
approved by its head, the session's owner records attendance, and the next appraisal shows
the training and the change of attainment; who may read a member's training. On SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from mktflow.domain.errors import FormInvalid, NotAuthorized
from mktflow.engine import cycles, reviews, training, work
from mktflow.store.tables import Kpi, WorkItem

OLGA = "olga.petrova@example.com"  # marketing specialist, hq: misses a KPI
LI = "li.na@example.com"  # marketing deputy: prepares the plan, holds the session
ANA = "ana.torres@example.com"  # marketing head: approves
MARCO = "marco.rossi@example.com"  # marketing specialist: meets his KPI
TOM = "tom.berg@example.com"  # tech
MARIA = "maria.garcia@example.com"  # management


def _appraise(db: Any, period: str, olga_actual: float) -> list[dict[str, Any]]:
    with db.uow() as u:
        u.session.add_all([
            Kpi(name="leads", owner_email=OLGA, department="marketing", period=period,
                target=100, actual=olga_actual),
            Kpi(name="ctr", owner_email=OLGA, department="marketing", period=period,
                target=2, actual=2.5),
            Kpi(name="stores", owner_email=MARCO, department="marketing", period=period,
                target=50, actual=55)])
        u.commit()
    run = cycles.begin_cycle(db.engine_uow(), cycle="performance-appraisal", period=period)
    return reviews.appraise(db.engine_uow(), run_id=run.id)


def _item(db: Any, ref: str | None) -> WorkItem:
    assert ref is not None
    with db.uow() as u:
        item = u.session.get(WorkItem, int(ref[2:]))
        assert item is not None
        return item


def _answer(db: Any, ref: str | None, who: str, data: dict[str, Any]) -> None:
    item = _item(db, ref)
    if item.state == "open":
        work.claim(db.uow(), item.id, actor_email=who)
    work.complete(db.uow(), item.id, actor_email=who, data=data)


def _session(**changes: Any) -> dict[str, Any]:
    return {"topic": "Lead qualification", "participants": [OLGA], "owner": LI,
            "starts_on": "2026-07-13", "ends_on": "2026-07-14", **changes}


def test_a_missed_kpi_is_trained_and_the_next_appraisal_shows_it(db: Any) -> None:
    _appraise(db, "2026-Q2", olga_actual=50)
    run = cycles.begin_cycle(db.engine_uow(), cycle="training", period="2026-Q2")
    needs = training.raise_needs(db.engine_uow(), run_id=run.id)
    assert [(n["member"], n["topics"]) for n in needs] == [(OLGA, "leads")]  # not Marco
    assert training.raise_needs(db.engine_uow(), run_id=run.id) == needs  # once per appraisal
    [plan] = training.open_plans(db.engine_uow(), run_id=run.id)
    assert (plan["department"], plan["status"]) == ("marketing", "preparing")

    with pytest.raises(FormInvalid) as refused:  # the rules, at the step's every door
        _answer(db, plan["step"], LI, {"sessions": [_session(
            owner="nobody@example.com", ends_on="2026-07-01")]})
    assert "sessions.0.owner: nobody@example.com is not an active member" in str(refused.value)
    assert "sessions.0.ends_on: 2026-07-01 is before the first day" in str(refused.value)
    _answer(db, plan["step"], LI, {"sessions": [_session()]})
    [shown] = training.list_plans(db.uow(), period="2026-Q2")
    assert (shown.status, shown.prepared_by) == ("submitted", LI)
    approval = _item(db, shown.approval_step)
    assert (approval.assignee_email, approval.excluded) == (ANA, [LI])  # four eyes

    _answer(db, shown.approval_step, ANA, {"decision": "approve"})
    [shown] = training.list_plans(db.uow(), period="2026-Q2")
    assert (shown.status, shown.approved_by) == ("approved", ANA)
    [session] = shown.sessions
    attendance = _item(db, session.attendance_step)
    assert attendance.assignee_email == LI  # the session's owner records who came
    with pytest.raises(FormInvalid):  # only a participant can have attended
        work.complete(db.uow(), attendance.id, actor_email=LI, data={"attended": [MARCO]})
    work.complete(db.uow(), attendance.id, actor_email=LI, data={"attended": [OLGA]})
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
    _answer(db, plan["step"], LI, {"sessions": [_session()]})
    [shown] = training.list_plans(db.uow(), period="2026-Q1")
    _answer(db, shown.approval_step, ANA, {"decision": "return", "note": "two days"})
    [again] = training.list_plans(db.uow(), period="2026-Q1")
    assert (again.status, again.returns, again.sessions) == ("preparing", 1, [])
    assert _item(db, again.prepare_step).draft == {"sessions": [_session()]}

    for reader in (OLGA, ANA, MARIA):  # the member, their head, management
        assert training.member_training(db.uow(), OLGA, reader=reader).needs
        assert [n.member for n in training.list_needs(db.uow(), reader=reader)] == [OLGA]
    for reader in (MARCO, TOM):  # a colleague, another department
        with pytest.raises(NotAuthorized):
            training.member_training(db.uow(), OLGA, reader=reader)
        assert training.list_needs(db.uow(), reader=reader) == []
    assert training.list_plans(db.uow(), reader=TOM) == []  # marketing's plan: its own
    assert training.list_plans(db.uow(), reader=MARCO)
