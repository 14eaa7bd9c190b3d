"""Cancelling a step of a running process ends the process in the same transaction, with the
reason; its other open work is cancelled; its flow run is told once, after the commit."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from mktflow.domain import clock as clocks
from mktflow.domain.errors import NotAuthorized
from mktflow.engine import handoffs, processes, queries, work

HEAD = "ana.torres@example.com"  # marketing's head
OLGA = "olga.petrova@example.com"  # marketing specialist
RUN = "5b2d8e1a-0c3f-4d7e-9a61-2f0b7c4d9e10"


def _told(db: Any, told: list[tuple[str, str]], *, fails: bool = False) -> Any:
    from mktflow.bootstrap import Wiring
    from mktflow.config import get_settings

    def ender(flow_run_id: str, why: str) -> None:
        told.append((flow_run_id, why))
        if fails:
            raise ConnectionError("connection refused")

    return Wiring(settings=get_settings(), database=db.engine, ender=ender).uow()


def _process(db: Any, key: str, flow_run_id: str | None = RUN) -> tuple[Any, Any, Any, Any]:
    """A running process with a plan step, another department's step and an open handoff."""
    p = processes.start_process(db.uow(), process="campaign", business_key=key,
                                owner_email=OLGA, flow_run_id=flow_run_id)
    plan = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="marketing",
                                 title="Plan", process_id=p.id, step_key="plan-1", assignee=OLGA)
    other = work.create_work_item(db.engine_uow(), actor_email="mktflow", department="finance",
                                  title="Check budget", process_id=p.id, step_key="budget")
    handoff = handoffs.offer(db.engine_uow(), actor_email="mktflow", from_department="marketing",
                             to_department="tech", title="Landing page",
                             due_at=clocks.now() + timedelta(days=9), process_id=p.id,
                             step_key="landing")
    return p, plan, other, handoff


def test_cancelling_a_step_ends_its_process_and_its_open_work_with_the_reason(db: Any) -> None:
    p, plan, other, handoff = _process(db, f"CMP-CX-{db.kind}")
    told: list[tuple[str, str]] = []
    work.cancel(_told(db, told), plan.id, actor_email=HEAD, reason="budget frozen.")
    why = (f"W-{plan.id} (Plan) was cancelled by {HEAD}: budget frozen. The process cannot go "
           "on without it.")
    assert told == [(RUN, why)]
    shown = queries.show(db.uow(), f"P-{p.id}")
    assert shown.status == "cancelled"
    assert shown.result == {"outcome": "cancelled", "reason": why,
                               "cancelled_item": f"W-{plan.id}", "cancelled_by": HEAD}
    assert queries.show(db.uow(), f"W-{other.id}").state == "cancelled"
    assert queries.show(db.uow(), f"H-{handoff.id}").state == "cancelled"
    entries = queries.history(db.uow(), f"P-{p.id}")
    ended = [(e.item, e.actor, e.action, e.reason) for e in entries
             if e.action in ("cancel", "finish")]
    assert ended == [(f"W-{plan.id}", HEAD, "cancel", "budget frozen."),
                     (f"W-{other.id}", HEAD, "cancel", why),
                     (f"H-{handoff.id}", HEAD, "cancel", why),
                     (f"P-{p.id}", HEAD, "finish", why)]
    assert not [i for i in queries.inbox(db.uow(), "finance") if i.ref == f"W-{other.id}"]


def test_a_run_that_cannot_be_told_leaves_the_cancel_committed_and_a_warning(
        db: Any, caplog: pytest.LogCaptureFixture) -> None:
    p, plan, _other, _handoff = _process(db, f"CMP-CY-{db.kind}")
    told: list[tuple[str, str]] = []
    with caplog.at_level(logging.WARNING, logger="mktflow.processes"):
        cancelled = work.cancel(_told(db, told, fails=True), plan.id, actor_email=HEAD,
                                reason="duplicate")
    assert cancelled.state == "cancelled" and len(told) == 1
    assert queries.show(db.uow(), f"P-{p.id}").status == "cancelled"
    assert (f"P-{p.id} is cancelled, but its flow run {RUN} could not be ended now (connection "
            f"refused); `mktflow process resume P-{p.id}` ends it") in caplog.text


def test_a_refused_cancel_leaves_the_process_running(db: Any) -> None:
    p, plan, other, _handoff = _process(db, f"CMP-CZ-{db.kind}")
    told: list[tuple[str, str]] = []
    marco = "marco.rossi@example.com"  # marketing, but neither its owner nor its head
    with pytest.raises(NotAuthorized, match="would end with it"):
        work.cancel(_told(db, told), plan.id, actor_email=marco, reason="not mine to stop")
    assert told == []
    assert queries.show(db.uow(), f"P-{p.id}").status == "running"
    assert queries.show(db.uow(), f"W-{other.id}").state == "open"


def test_a_process_without_a_run_ends_and_no_run_is_told(db: Any) -> None:
    p, plan, _other, _handoff = _process(db, f"CMP-CW-{db.kind}", flow_run_id=None)
    told: list[tuple[str, str]] = []
    work.cancel(_told(db, told), plan.id, actor_email=HEAD, reason="stop")
    assert told == []
    assert queries.show(db.uow(), f"P-{p.id}").status == "cancelled"


def test_a_step_of_no_process_is_only_cancelled(db: Any) -> None:
    item = work.create_work_item(db.uow(), actor_email=HEAD, department="marketing",
                                 title="Tidy the brief")
    told: list[tuple[str, str]] = []
    assert work.cancel(_told(db, told), item.id, actor_email=HEAD,
                       reason="done elsewhere").state == "cancelled"
    assert told == []


def test_cancelling_a_handoff_of_a_running_process_ends_it_as_a_step_does(db: Any) -> None:
    p, plan, other, handoff = _process(db, f"CMP-CH-{db.kind}")
    told: list[tuple[str, str]] = []
    handoffs.cancel(_told(db, told), handoff.id, actor_email=OLGA, reason="page dropped")
    why = (f"H-{handoff.id} (Landing page) was cancelled by {OLGA}: page dropped. The process "
           "cannot go on without it.")
    assert told == [(RUN, why)]
    shown = queries.show(db.uow(), f"P-{p.id}")
    assert (shown.status, shown.result["cancelled_item"]) == ("cancelled", f"H-{handoff.id}")
    assert [queries.show(db.uow(), f"W-{w.id}").state for w in (plan, other)] == [
        "cancelled", "cancelled"]  # the plan too: marketing keeps nothing of it


def test_a_flows_own_handoff_cancel_leaves_its_process_running(db: Any) -> None:
    p, _plan, _other, handoff = _process(db, f"CMP-CE-{db.kind}")
    handoffs.act(db.engine_uow(), handoff.id, "cancel", actor_email=OLGA, reason="re-offered")
    assert queries.show(db.uow(), f"H-{handoff.id}").state == "cancelled"
    assert queries.show(db.uow(), f"P-{p.id}").status == "running"


def test_the_longest_reason_still_cancels_and_ends_the_process(db: Any) -> None:
    p, plan, other, _handoff = _process(db, f"CMP-CL-{db.kind}")
    told: list[tuple[str, str]] = []
    work.cancel(_told(db, told), plan.id, actor_email=HEAD, reason="x" * 2000)
    shown = queries.show(db.uow(), f"P-{p.id}")
    why = shown.result["reason"]
    assert shown.status == "cancelled" and len(why) == 2000 and told == [(RUN, why)]
    assert why.startswith(f"W-{plan.id} (Plan) was cancelled by {HEAD}: xxx")
    assert why.endswith("x…. The process cannot go on without it.")
    assert queries.show(db.uow(), f"W-{other.id}").state == "cancelled"
