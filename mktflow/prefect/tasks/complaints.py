"""Tasks of the customer complaints (``flows/complaint.py``, and the order follow-up in
``flows/order_handling.py``), each wrapping one handler of ``mktflow.engine.complaints``."""

from __future__ import annotations

import time
from typing import Any

from prefect import task
from prefect.runtime import flow_run

from mktflow.bootstrap import engine_uow as uow
from mktflow.domain.complaints import ComplaintSource, ComplaintState, complaint_ref
from mktflow.engine import complaints
from mktflow.engine.views import ComplaintPublic
from mktflow.prefect.tasks.common import ENGINE_TASK, typed_uow

__all__ = ["open_case", "open_from_order", "read_case"]


@task(name="open-complaint", **ENGINE_TASK)
def open_case(opened_by: str, customer: str, text: str, order: str | None,
              customer_name: str | None, due: str) -> dict[str, Any]:
    """A case opened from the Prefect UI's Run form of the ``complaint`` deployment, as the
    customer-service member typed there (not proven: opening a case decides nothing); this run
    carries it. A refusal fails the run with the engine's words."""
    case = complaints.open_complaint(
        typed_uow(), actor_email=opened_by, customer=customer, text=text, order=order,
        customer_name=customer_name, source=ComplaintSource.PREFECT, due_at=due,
        flow_run_id=str(flow_run.get_id()))
    return {"id": case.id, "ref": complaint_ref(case.id), "process_id": case.process_id}


@task(name="open-complaint-from-order", **ENGINE_TASK)
def open_from_order(order: str, customer: str, text: str, actor: str) -> str:
    """The order follow-up heard a complaint: a case in customer service (its ref, C-n)."""
    case = complaints.open_complaint(uow(), actor_email=actor, customer=customer, text=text,
                                     order=order, source=ComplaintSource.ORDER)
    return complaint_ref(case.id)


def read_case(complaint_id: int) -> ComplaintPublic:
    """The case as the engine shows it, with its history (a read, not a task: it must never be
    cached).

    A case that is not closed or cancelled always has an open step (the step that moves it
    creates the next one in its own transaction), but the view reads the case and its steps in
    two statements: on PostgreSQL (read committed) another door's answer can commit between
    them, and the read shows the case before and its steps after (``answered`` with no step).
    Such a read is taken again, at most 50 times 0.1 s apart."""
    view = complaints.show_complaint(uow(), complaint_id)
    for _ in range(50):
        if view.step is not None or view.state in _ENDED:
            break
        time.sleep(0.1)
        view = complaints.show_complaint(uow(), complaint_id)
    return view


_ENDED = frozenset({ComplaintState.CLOSED, ComplaintState.CANCELLED})
