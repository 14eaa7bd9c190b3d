"""A customer complaint to closure on a real Prefect server (seed 001, 客户服务部 工作流程
2.(1) C): the complaint deployment's run opens the case, waits on its steps in each department's
queue (one answered in the Prefect UI's resume form), goes round again when the customer is not
satisfied, follows the case back to customer service when the acting department rejects its
handoff, and ends only when the customer is satisfied; the artifact shows the case."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.flows.support import Departments, flow_run_id_of, start_flow, ui_resume, wait_paused

pytestmark = pytest.mark.flows

OLGA = "olga.petrova@example.com"  # marketing: customer service
RAJ = "raj.patel@example.com"  # supply
GRACE = "grace.liu@example.com"  # finance head


def _case_of(db: Any, customer: str, timeout: float = 30) -> Any:
    from mktflow.engine import complaints

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = complaints.list_complaints(db.uow(), customer=customer) \
            if _has_file(db, customer) else []
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no complaint of {customer}")


def _has_file(db: Any, code: str) -> bool:
    from sqlmodel import col, select

    from mktflow.store.tables import Customer

    with db.uow() as u:
        return u.session.exec(select(Customer.id).where(col(Customer.code) == code)).first() \
            is not None


def test_a_complaint_runs_round_twice_to_a_satisfied_customer(flow_db: Any) -> None:
    from flows.complaint import complaint
    from mktflow.prefect.artifacts import read_artifacts

    customer = f"CUST-{uuid.uuid4().hex[:6]}"
    run = start_flow(complaint, request={
        "opened_by": OLGA, "customer": customer, "customer_name": "Dented Grocers",
        "text": "Two boxes arrived dented", "order": "SO-88"})
    case = _case_of(flow_db, customer)
    d = Departments(flow_db, case.ref, run)
    assert (case.source, d.step("respond-1").department) == ("prefect", "marketing")
    d.answer("respond-1", OLGA, {"to": "supply", "request": "Send two new boxes"})
    # the act step in supply's queue, answered in the Prefect UI's resume form (it decides
    # nothing): claimed and completed through the engine, which moves the case
    fid = flow_run_id_of(flow_db, case.ref)
    wait_paused(fid, "act-1")
    ui_resume(fid, {"done": "Two boxes sent by courier", "answered_by": RAJ})
    d.answer("customer-1", OLGA, {"satisfied": False, "note": "One box still missing"})
    d.answer("respond-2", OLGA, {"to": "finance", "request": "Refund the missing box"})
    # finance rejects the handoff while the run waits on its act step: the run is woken and
    # goes on with customer service's new respond step
    wait_paused(fid, "act-2")
    from mktflow.engine import complaints, handoffs

    handed = complaints.show_complaint(flow_db.uow(), case.ref)
    handoffs.reject(flow_db.uow(), int(handed.handoff[2:]), actor_email=GRACE,
                    reason="Say which order line")
    wait_paused(fid, "respond-2-back-1")
    assert d.step("act-2").state == "cancelled"
    d.answer("respond-2-back-1", OLGA, {"to": "finance",
                                         "request": "Refund the missing box of line 2"})
    d.answer("act-2-back-1", GRACE, {"done": "Refunded 40.00"})
    d.answer("customer-2", OLGA, {"satisfied": True, "note": "Thanks"})

    result = run.result()
    assert result == {"complaint": case.ref, "state": "closed", "rounds": 2,
                      "escalation_level": 1, "customer": customer}
    assert d.step("act-1").completed_by == RAJ
    summary = read_artifacts(fid)[f"complaint-{case.ref.lower()}-summary"]
    assert "closed" in summary and "reopen" in summary and "Refunded 40.00" in summary
