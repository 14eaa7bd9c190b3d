"""order-handling on a real Prefect server, answered the way departments do."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlmodel import col, select

from mktflow.domain.errors import FormInvalid, NotAuthorized
from tests.dates import days_ahead
from tests.flows.support import (
    Departments,
    flow_run_id_of,
    start_flow,
    ui_resume,
    wait_paused,
)

pytestmark = pytest.mark.flows

SALES = "carlos.mendez@example.com"
FINANCE = "grace.liu@example.com"
FINANCE2 = "omar.haddad@example.com"
PRODUCTION = "pedro.alves@example.com"
SUPPLY = "raj.patel@example.com"
MARKETING = "olga.petrova@example.com"


def _order(number: str, *, quantity: float = 10, price: float = 50.0) -> dict[str, Any]:
    return {"number": number, "sales": SALES, "customer_code": f"C-{number}",
            "customer_name": "Acme", "lines": [{"sku": "SKU-1", "quantity": quantity,
                                                "unit_price": price}],
            "delivery_date": days_ahead(40)}


def _entry(order: dict[str, Any], **changes: Any) -> dict[str, Any]:
    entry = {k: order[k] for k in ("customer_code", "customer_name", "lines", "delivery_date")}
    return {**entry, **changes}


def _new() -> str:
    return f"O-{uuid.uuid4().hex[:8]}"


def test_small_order_runs_to_the_customer_file_with_a_complaint(flow_db: Any) -> None:
    from flows.order_handling import order_handling
    from mktflow.prefect.artifacts import read_artifacts

    number = _new()
    order = _order(number)
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, number, run)
    assert d.step("order-entry-1").assignee_email == SALES
    d.answer("order-entry-1", SALES, _entry(order))  # 500 < limit, good standing: auto credit
    d.answer("production", PRODUCTION, {"outcome": "from_stock"})
    bad = {"outcome": "shipped", "carrier": "DHL", "tracking_number": "trk 1"}
    with pytest.raises(FormInvalid, match="field 'tracking_number'"):
        d.answer("shipping", SUPPLY, bad)
    assert d.step("shipping").state == "claimed"  # refused: nothing changed, the flow waits
    d.answer("shipping", SUPPLY, {**bad, "tracking_number": "TRK-123456"})
    d.answer("invoice", FINANCE, {"invoice_number": "INV-2027-1", "amount": 500,
                                  "payment_due": days_ahead(70)})
    d.answer("follow-up", MARKETING, {"satisfaction": 2, "complaint": "late"})
    result = run.result()
    assert result["outcome"] == "closed"
    # the complaint is a case in customer service, run to its own closure (flows/complaint.py)
    from mktflow.engine import complaints

    (case,) = complaints.list_complaints(flow_db.uow(), customer=f"C-{number}")
    assert (result["complaint"], case.order, case.text, case.source, case.step.kind) == (
        case.ref, number, "late", "order", "respond")
    assert result["customer"] == {"customer": f"C-{number}", "orders": 1, "total_ordered": 500.0,
                                  "last_satisfaction": 2, "standing": "good"}
    arts = read_artifacts(flow_run_id_of(flow_db, number))
    key = f"order-{number.lower()}"
    assert arts[f"{key}-figures"] == [{"sku": "SKU-1", "quantity": 10, "unit_price": 50.0,
                                      "line_total": 500.0}]
    assert "total **500.00**" in arts[f"{key}-summary"]
    assert "TRK-123456" in arts[f"{key}-summary"]


def test_credit_rework_then_rejection_ends_the_order_and_tells_sales(flow_db: Any) -> None:
    from flows.order_handling import order_handling
    from mktflow.store.tables import OutboxMessage, ProcessInstance

    number = _new()
    order = _order(number, quantity=300)  # 15,000: finance decides (authority matrix)
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, number, run)
    d.answer("order-entry-1", SALES, _entry(order))
    with pytest.raises(FormInvalid, match="field 'reason'"):  # rework needs a reason
        d.answer("credit-1-finance-1", FINANCE, {"decision": "rework"})
    d.answer("credit-1-finance-1", FINANCE, {"decision": "rework",
                                             "reason": "ask for 30% prepayment"})
    second = d.step("order-entry-2")
    assert "prepayment" in second.description
    d.answer("order-entry-2", SALES, _entry(order, note="customer refuses prepayment"))
    d.answer("credit-2-finance-1", FINANCE2, {"decision": "reject",
                                              "reason": "no prepayment, too risky"})
    result = run.result()
    assert result == {"outcome": "rejected", "order": number, "stage": "credit",
                      "reason": "no prepayment, too risky"}
    with flow_db.uow() as u:
        p = u.session.exec(select(ProcessInstance).where(
            col(ProcessInstance.business_key) == number)).one()
        assert p.status == "cancelled"
        told = u.session.exec(select(OutboxMessage).where(
            col(OutboxMessage.event) == "order.rejected",
            col(OutboxMessage.department) == "sales")).all()
        assert any(number in (m.payload.get("reason") or "") for m in told)
    decisions = [e for e in d.history() if e.action == "decide"]
    assert [e.data["decision"] for e in decisions] == ["rework", "reject"]
    assert {e.data["matrix_version"] for e in decisions} == {"2026.1"}


def test_production_rejects_and_a_ui_answer_goes_through_the_engine(flow_db: Any) -> None:
    from flows.order_handling import order_handling

    number = _new()
    order = _order(number)
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, number, run)
    d.answer("order-entry-1", SALES, _entry(order))
    item = d.step("production")
    fid = flow_run_id_of(flow_db, number)
    answer = {"outcome": "cannot_fulfil", "reason": "line stopped for maintenance"}
    # From the Prefect UI, as someone outside production: refused by the engine and recorded
    wait_paused(fid, "production")
    ui_resume(fid, {**answer, "answered_by": SUPPLY})
    wait_paused(fid, "production-retry-1")
    refused = [e for e in d.history() if e.action == "comment"]
    assert SUPPLY in refused[-1].data["text"] and "refused" in refused[-1].data["text"]
    assert d.step("production").state == "open"
    # From the Prefect UI, as a production member: claimed and completed through the engine
    ui_resume(fid, {**answer, "answered_by": PRODUCTION})
    result = run.result()
    assert result["outcome"] == "rejected" and result["stage"] == "production"
    with flow_db.uow() as u:
        from mktflow.store.tables import WorkItem

        done = u.session.get(WorkItem, item.id)
        assert done.state == "done" and done.completed_by == PRODUCTION


def test_two_approvers_must_be_two_people(flow_db: Any) -> None:
    from flows.order_handling import order_handling

    number = _new()
    order = _order(number, quantity=1200)  # 60,000: two finance approvers
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, number, run)
    d.answer("order-entry-1", SALES, _entry(order))
    d.answer("credit-1-finance-1", FINANCE, {"decision": "approve"})
    assert FINANCE in d.step("credit-1-finance-2").excluded
    with pytest.raises(NotAuthorized, match="four eyes"):
        d.answer("credit-1-finance-2", FINANCE, {"decision": "approve"})
    d.answer("credit-1-finance-2", FINANCE2, {"decision": "approve"})
    d.answer("production", PRODUCTION, {"outcome": "scheduled", "ready_date": days_ahead(35)})
    d.answer("shipping", SUPPLY, {"outcome": "cannot_ship", "reason": "no carrier to the isle"})
    assert run.result()["stage"] == "shipping"


def test_a_resume_lost_on_the_way_is_handed_over_again(
    flow_db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from flows.order_handling import order_handling
    from mktflow.engine import work
    from mktflow.engine.steps import complete_step
    from mktflow.prefect.reconcile import resume_if_answered

    number = _new()
    order = _order(number)
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, number, run)
    entry = d.step("order-entry-1")
    flow_run_id = flow_run_id_of(flow_db, number)
    wait_paused(flow_run_id, "order-entry-1")

    def prefect_is_down(_flow_run_id: str, _item: Any) -> None:
        raise ConnectionError("connection refused")

    if d.step("order-entry-1").state == "open":  # as Departments.answer does
        work.claim(flow_db.uow(), entry.id, actor_email=SALES)
    done = complete_step(flow_db.uow(resumer=prefect_is_down), entry.id,  # no error: it is done
                         actor_email=SALES, data=_entry(order))
    assert done.state == "done"
    assert f"mktflow process resume P-{entry.process_id}" in caplog.text
    assert wait_paused(flow_run_id, "order-entry-1", timeout=3)  # the run still waits
    assert resume_if_answered(flow_run_id) == f"W-{entry.id}"
    assert d.step("production").state == "open"  # the flow went on with the stored data
    assert resume_if_answered(flow_run_id) is None  # production is not answered yet
    d.answer("production", PRODUCTION, {"outcome": "from_stock"})
    d.answer("shipping", SUPPLY, {"outcome": "cannot_ship", "reason": "strike"})
    assert run.result()["stage"] == "shipping"
