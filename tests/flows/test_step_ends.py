"""A waiting step that ends without an answer: cancelled by the head, or never answered in time."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.dates import days_ahead
from tests.flows.support import Departments, flow_run_id_of, start_flow, ui_resume, wait_paused

pytestmark = pytest.mark.flows

SALES = "carlos.mendez@example.com"  # sales head


def _order() -> dict[str, Any]:
    number = f"O-{uuid.uuid4().hex[:8]}"
    return {"number": number, "sales": SALES, "customer_code": f"C-{number}",
            "customer_name": "Acme", "lines": [{"sku": "SKU-1", "quantity": 1,
                                                "unit_price": 5.0}],
            "delivery_date": days_ahead(40)}


def _state_of(flow_run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def _other_work(db: Any, process_id: int) -> Any:
    """Another department's open step in the same process (as a flow's parallel step is)."""
    from mktflow.engine import work

    return work.create_work_item(db.engine_uow(), actor_email="mktflow", department="supply",
                                 title="Reserve stock", process_id=process_id,
                                 step_key="reserve-stock")


def _paused_at_order_entry(flow_db: Any) -> tuple[dict[str, Any], Any, Departments, Any, str]:
    """An order-handling run paused at its order entry: (order, the run, its departments'
    view, the order-entry item, flow run id)."""
    from flows.order_handling import order_handling

    order = _order()
    run = start_flow(order_handling, order=order)
    d = Departments(flow_db, order["number"], run)
    item = d.step("order-entry-1")
    flow_run_id = flow_run_id_of(flow_db, order["number"])
    wait_paused(flow_run_id, "order-entry-1")
    return order, run, d, item, flow_run_id


def test_cancelling_the_step_a_paused_run_waits_for_ends_the_run_and_the_process(
        flow_db: Any) -> None:
    from mktflow.engine import queries, work
    from mktflow.prefect.steps import StepCancelled

    order, run, _, item, flow_run_id = _paused_at_order_entry(flow_db)
    other = _other_work(flow_db, item.process_id)
    work.cancel(flow_db.uow(), item.id, actor_email=SALES, reason="the customer withdrew")
    why = (f"W-{item.id} (Record order {order['number']}) was cancelled by {SALES}: the "
           "customer withdrew. The process cannot go on without it.")
    # the run is woken by the cancel: without it, it would poll until its pause times out
    with pytest.raises(StepCancelled) as raised:
        run.result(timeout=30)
    assert str(raised.value) == why
    state = _state_of(flow_run_id)
    assert state.is_failed() and why in (state.message or "")
    process = queries.show(flow_db.uow(), f"P-{item.process_id}")
    assert process.status == "cancelled"
    assert process.result["reason"] == why
    assert process.result["cancelled_by"] == SALES
    assert [w.state for w in process.work_items] == ["cancelled", "cancelled"]
    assert queries.show(flow_db.uow(), f"W-{other.id}").state == "cancelled"
    finish = [e for e in queries.history(flow_db.uow(), f"P-{item.process_id}")
              if e.action == "finish"]
    assert [(e.actor, e.to_state, e.reason) for e in finish] == [
        (SALES, "cancelled", why)]  # ended once, by the cancel (the flow's guard found it so)


def test_cancelling_another_step_of_the_process_ends_the_run_waiting_elsewhere(
        flow_db: Any) -> None:
    from mktflow.domain.errors import NotAuthorized
    from mktflow.engine import queries, work
    from mktflow.prefect.steps import StepCancelled

    _, run, _, item, flow_run_id = _paused_at_order_entry(flow_db)
    other = _other_work(flow_db, item.process_id)
    # supply's head may not end sales' order by cancelling its step (issue 19)...
    with pytest.raises(NotAuthorized, match="would end with it"):
        work.cancel(flow_db.uow(), other.id, actor_email="elena.volkova@example.com",
                    reason="no stock to reserve")
    # ...sales' head, who leads the owner's department, may
    work.cancel(flow_db.uow(), other.id, actor_email=SALES, reason="no stock to reserve")
    why = (f"W-{other.id} (Reserve stock) was cancelled by {SALES}: no stock to "
           "reserve. The process cannot go on without it.")
    with pytest.raises(StepCancelled) as raised:  # it waited for order entry, now cancelled
        run.result(timeout=30)
    assert str(raised.value) == why
    assert queries.show(flow_db.uow(), f"W-{item.id}").state == "cancelled"
    assert why in (_state_of(flow_run_id).message or "")


def test_an_answer_from_the_ui_after_an_unheard_cancel_does_not_revive_the_step(
        flow_db: Any) -> None:
    from mktflow.bootstrap import Wiring
    from mktflow.config import get_settings
    from mktflow.engine import work
    from mktflow.prefect.steps import StepCancelled

    order, run, d, item, flow_run_id = _paused_at_order_entry(flow_db)
    told: list[str] = []  # the run is not told of the cancel (as when Prefect is down)
    unheard = Wiring(settings=get_settings(), database=flow_db.engine,
                     ender=lambda run_id, why: told.append(run_id)).uow()
    work.cancel(unheard, item.id, actor_email=SALES, reason="the customer withdrew")
    assert told == [flow_run_id]
    # an answer sent from the Prefect UI afterwards wakes the run, which must not go on
    entry = {k: order[k] for k in ("customer_code", "customer_name", "lines", "delivery_date")}
    ui_resume(flow_run_id, {**entry, "answered_by": SALES})
    with pytest.raises(StepCancelled, match=rf"W-{item.id} \(.*\) was cancelled by {SALES}: "
                                            "the customer withdrew. The process cannot go on "
                                            "without it"):
        run.result()
    assert d.step("order-entry-1").state == "cancelled"  # the UI answer did not revive it
    assert _state_of(flow_run_id).is_failed()


def test_a_cancel_prefect_did_not_hear_is_handed_over_by_process_resume(
        flow_db: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from typer.testing import CliRunner

    from mktflow.bootstrap import Wiring
    from mktflow.cli import app
    from mktflow.config import get_settings
    from mktflow.engine import queries, work
    from mktflow.prefect.steps import StepCancelled

    _, run, _, item, flow_run_id = _paused_at_order_entry(flow_db)

    def prefect_is_down(_flow_run_id: str, _why: str) -> None:
        raise ConnectionError("connection refused")

    down = Wiring(settings=get_settings(), database=flow_db.engine,
                  ender=prefect_is_down).uow()
    with caplog.at_level(logging.WARNING, logger="mktflow.processes"):
        cancelled = work.cancel(down, item.id, actor_email=SALES, reason="duplicate order")
    assert cancelled.state == "cancelled"  # committed all the same
    assert queries.show(flow_db.uow(), f"P-{item.process_id}").status == "cancelled"
    assert (f"could not be ended now (connection refused); `mktflow process resume "
            f"P-{item.process_id}` ends it") in caplog.text
    assert wait_paused(flow_run_id, "order-entry-1", timeout=3)  # the run still waits
    result = CliRunner().invoke(app, ["process", "resume", f"P-{item.process_id}"])
    assert result.exit_code == 0, result.output
    assert f"P-{item.process_id} is cancelled: its waiting flow run was ended" in result.output
    with pytest.raises(StepCancelled, match="duplicate order"):
        run.result(timeout=30)
    assert _state_of(flow_run_id).is_failed()
    again = CliRunner().invoke(app, ["process", "resume", f"P-{item.process_id}"])
    assert again.exit_code == 0 and "its flow run waits for nothing" in again.output


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
