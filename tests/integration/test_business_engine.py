"""Business handlers on SQLite and PostgreSQL: budgets, campaigns, products, orders, approvals."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mktflow.domain.errors import BadInput, Conflict, NotAuthorized, Refused, TransitionRefused
from mktflow.engine import approvals, budget, campaigns, orders, processes, products, work
from tests.dates import date_ahead, days_ahead

HEAD = "ana.torres@example.com"
OLGA = "olga.petrova@example.com"
FINANCE = "grace.liu@example.com"
SALES = "carlos.mendez@example.com"


def _process(db: Any, name: str = "campaign") -> int:
    p = processes.start_process(db.uow(), process=name, business_key=uuid.uuid4().hex,
                                owner_email=HEAD)
    assert p.id is not None
    return p.id


PLAN = {"name": "Spring", "goal": "grow", "target_customers": "grocers", "channels": ["ads"],
        "start": days_ahead(90), "end": days_ahead(120),
        "kpis": [{"name": "leads", "target": 100}],
        "activities": [{"title": "Ads", "owner": OLGA, "budget_line": "ads"}],
        "budget_lines": [{"code": "ads", "title": "Ads", "amount": 1000}]}


def test_campaign_plan_revision_approval_spend_and_actuals(db: Any) -> None:
    pid = _process(db)
    code = f"C-{uuid.uuid4().hex[:6]}"
    camp = campaigns.record_plan(db.uow(), process_id=pid, code=code, plan=PLAN,
                                 actor_email=OLGA, owner_email=OLGA)
    revised = campaigns.record_plan(
        db.uow(), process_id=pid, code=code, actor_email=OLGA, owner_email=OLGA,
        plan={**PLAN, "budget_lines": [{"code": "ads", "title": "Ads", "amount": 800}]})
    assert revised.id == camp.id
    with db.uow() as u:
        from sqlmodel import col, select

        from mktflow.store.tables import Kpi

        kpis = u.session.exec(select(Kpi).where(col(Kpi.campaign_id) == camp.id)).all()
        assert [(k.name, k.target, k.owner_email) for k in kpis] == [("leads", 100.0, OLGA)]
    with pytest.raises(Conflict, match="belongs to another process"):
        campaigns.record_plan(db.uow(), process_id=_process(db), code=code, plan=PLAN,
                              actor_email=OLGA, owner_email=OLGA)
    assert camp.id is not None
    campaigns.set_status(db.uow(), camp.id, status="approved", actor_email=HEAD,
                         approved_amount=800, matrix_version="2026.1")
    figures = campaigns.campaign_figures(db.uow(), camp.id)
    assert [(b.code, b.allocated) for b in figures["lines"]] == [("ads", 800.0)]
    line_id = figures["activities"][0]["budget_line_id"]
    budget.record_spend(db.uow(), line_id, amount=500, key=f"k-{code}", actor_email=OLGA)
    again = budget.record_spend(db.uow(), line_id, amount=500, key=f"k-{code}",
                                actor_email=OLGA)
    assert again.spent == 500.0  # the same key is recorded once
    with pytest.raises(NotAuthorized, match="only finance may"):
        budget.allocate(db.uow(), line_id, amount=900, actor_email=OLGA)
    assert budget.allocate(db.uow(), line_id, amount=900, actor_email=FINANCE).allocated == 900
    with pytest.raises(BadInput, match="has no KPI reach"):
        campaigns.record_kpi_actuals(db.uow(), camp.id, actuals={"reach": 1}, actor_email=OLGA)
    kpis = campaigns.record_kpi_actuals(db.uow(), camp.id, actuals={"leads": 120},
                                        actor_email=OLGA)
    assert kpis[0].actual == 120


def test_a_plan_that_charges_an_unknown_line_is_refused_and_leaves_nothing(db: Any) -> None:
    before = db.count("campaign")
    bad = {**PLAN, "activities": [{"title": "Ads", "owner": OLGA, "budget_line": "nope"}]}
    with pytest.raises(BadInput, match="unknown budget line 'nope'"):
        campaigns.record_plan(db.uow(), process_id=_process(db), code="C-BAD", plan=bad,
                              actor_email=OLGA, owner_email=OLGA)
    assert db.count("campaign") == before


def test_order_lifecycle_and_customer_file(db: Any) -> None:
    pid = _process(db, "order-handling")
    number = f"O-{uuid.uuid4().hex[:6]}"
    order = orders.record_order(
        db.uow(), process_id=pid, number=number, customer={"code": f"C-{number}"},
        lines=[{"sku": "a", "quantity": 2, "unit_price": 2.5}], delivery_date=date_ahead(30),
        sales_email=SALES, branch=None, actor_email=SALES)
    assert order.total == 5.0 and order.id is not None
    check = orders.credit_check_for(db.uow(), order.id, auto_limit=10)
    assert check["outcome"] == "auto_approved"
    with pytest.raises(TransitionRefused, match="cannot ship an order that is recorded"):
        orders.advance(db.uow(), order.id, "ship", actor_email=SALES)
    for action in ("approve_credit", "schedule", "ship", "invoice"):
        orders.advance(db.uow(), order.id, action, actor_email=SALES, data={"step": action})
    audits = db.count("auditentry")
    rerun = orders.advance(db.uow(), order.id, "invoice", actor_email=SALES)  # a re-run: no-op
    assert (rerun.status, rerun.invoice) == ("invoiced", {"step": "invoice"})
    assert db.count("auditentry") == audits  # nothing applied or recorded twice
    orders.advance(db.uow(), order.id, "follow_up", actor_email=SALES,
                   data={"satisfaction": 5})
    customer = orders.update_customer_file(db.uow(), order.id, actor_email=SALES)
    again = orders.update_customer_file(db.uow(), order.id, actor_email=SALES)
    assert (customer.orders_count, again.orders_count, customer.last_satisfaction) == (1, 1, 5)
    with pytest.raises(BadInput, match="needs a reason"):
        orders.advance(db.uow(), order.id, "reject", actor_email=SALES)


def test_products_record_stages_and_resources(db: Any) -> None:
    pid = _process(db, "new-product-development")
    code = f"P-{uuid.uuid4().hex[:6]}"
    product = products.record_proposal(
        db.uow(), process_id=pid, code=code, name="Tea", owner_email=OLGA, actor_email=OLGA,
        proposal={"market_need": "n", "target_customers": "t", "positioning": "p",
                  "forecast_units": 10},
        budget_lines=[{"code": "d", "title": "Design", "department": "tech", "amount": 100}])
    assert product.id is not None
    products.record_stage(db.uow(), product.id, stage="pilot", actor_email=OLGA,
                          facts={"unit_cost": 1.5})
    line = products.budget_line_id(db.uow(), product.id, "d")
    budget.allocate(db.uow(), line, amount=60, actor_email=FINANCE)
    assert [(r.code, r.planned, r.allocated) for r in products.resources_of(
        db.uow(), product.id)] == [("d", 100.0, 60.0)]
    with pytest.raises(BadInput, match="has no budget line 'x'"):
        products.budget_line_id(db.uow(), product.id, "x")


def test_approval_chain_exclusions_and_recorded_decision(db: Any) -> None:
    chain = approvals.approval_chain(db.uow(), "campaign", 4000, "north")
    assert chain.local and chain.stages[0].branch == "north"
    stage = approvals.approval_chain(db.uow(), "campaign", 10000, None).stages[0]
    step = approvals.approvers_for_step(db.uow(), stage, submitter="li.na@example.com",
                                        earlier_approvers=[])
    assert step.eligible == [HEAD] and OLGA in step.excluded  # specialists may not
    with pytest.raises(Refused, match="nobody in marketing"):
        approvals.approvers_for_step(db.uow(), stage, submitter=HEAD,
                                     earlier_approvers=["li.na@example.com"])
    pid = _process(db)
    item = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title="Approve", process_id=pid, step_key="a",
                                 excluded=step.excluded)
    assert item.id is not None
    with pytest.raises(NotAuthorized, match="four eyes"):
        work.claim(db.uow(), item.id, actor_email=OLGA)
    with pytest.raises(Refused, match="only a completed step"):
        approvals.record_decision(db.uow(), item.id, decision="approve",
                                  matrix_version=chain.matrix_version, rule="r")
