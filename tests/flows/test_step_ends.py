"""A waiting step that ends without an answer: cancelled by the head, or never answered in time."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.flows.support import Departments, flow_run_id_of, start_flow, ui_resume, wait_paused

pytestmark = pytest.mark.flows

SALES = "carlos.mendez@example.com"  # sales head


def _order() -> dict[str, Any]:
    number = f"O-{uuid.uuid4().hex[:8]}"
    return {"number": number, "sales": SALES, "customer_code": f"C-{number}",
            "customer_name": "Acme", "lines": [{"sku": "SKU-1", "quantity": 1,
                                                "unit_price": 5.0}],
            "delivery_date": "2027-01-15"}


def _state_of(flow_run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def test_a_step_cancelled_under_a_waiting_run_ends_it_with_step_cancelled(flow_db: Any) -> None:
    from flows.order_handling import order_handling
    from mktflow.engine import work
    from mktflow.prefect.steps import StepCancelled

    order = _order()
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, order["number"], run)
    item = d.step("order-entry-1")
    flow_run_id = flow_run_id_of(flow_db, order["number"])
    wait_paused(flow_run_id, "order-entry-1")
    work.cancel(flow_db.uow(), item.id, actor_email=SALES, reason="the customer withdrew")
    # an answer sent from the Prefect UI afterwards wakes the run, which must not go on
    entry = {k: order[k] for k in ("customer_code", "customer_name", "lines", "delivery_date")}
    ui_resume(flow_run_id, {**entry, "answered_by": SALES})
    with pytest.raises(StepCancelled, match=rf"W-{item.id} \(.*\) was cancelled: the process "
                                            "cannot go on without it"):
        run.result()
    assert d.step("order-entry-1").state == "cancelled"  # the UI answer did not revive it
    assert _state_of(flow_run_id).is_failed()


def test_a_step_not_answered_in_time_fails_the_run(flow_db: Any) -> None:
    from prefect.exceptions import FlowPauseTimeout

    from flows.order_handling import order_handling
    from tests.conftest import reset_caches

    os.environ["MKTFLOW_STEP_TIMEOUT_DAYS"] = str(3 / 86400)  # three seconds
    reset_caches()
    try:
        order = _order()
        run = start_flow(order_handling, order=order)
        d = Departments(flow_db, order["number"], run)
        assert d.step("order-entry-1").state == "claimed"  # assigned to sales, unanswered
        with pytest.raises(FlowPauseTimeout, match="paused and never resumed"):
            run.result(timeout=60)
    finally:
        del os.environ["MKTFLOW_STEP_TIMEOUT_DAYS"]
        reset_caches()
    assert _state_of(flow_run_id_of(flow_db, order["number"])).is_failed()
