"""A cycle's process instance follows its flow run's end: completed, or failed when the flow
run fails or crashes (``fail_cycle_run``, called by the cycle flows' state hooks)."""

from __future__ import annotations

from typing import Any

from mktflow.engine import cycles
from mktflow.store.tables import ProcessInstance


def test_a_failed_flow_run_fails_its_cycle_run_and_process_and_carries_on(db: Any) -> None:
    first = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-07")
    cycles.finish_cycle(db.uow(), first.id, open_items=[{"ref": "H-1"}], summary={})
    run = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-08",
                             flow_run_id="run-f")
    failed = cycles.fail_cycle_run(db.uow(), flow_run_id="run-f", reason="boom")
    assert failed is not None and failed.id == run.id and failed.status == "failed"
    assert failed.open_items == [{"ref": "H-1"}]  # what it carried in is not lost
    with db.uow() as u:
        assert u.session.get(ProcessInstance, run.process_id).status == "failed"
    assert cycles.fail_cycle_run(db.uow(), flow_run_id="run-f") is None  # already ended
    assert cycles.fail_cycle_run(db.uow(), flow_run_id="no-such-run") is None
    nxt = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-09")
    assert nxt.carried == [{"ref": "H-1"}]


def test_every_cycle_flow_fails_its_process_when_its_run_fails_or_crashes() -> None:
    from deployments.catalog import load
    from mktflow.domain.cycles import CYCLES
    from mktflow.prefect.cycles import cycle_failed

    flows = {e.spec.name: e.flow for e in load(sorted(CYCLES))}
    for name, flow in flows.items():
        assert flow is not None, name
        assert cycle_failed in flow.on_failure_hooks and cycle_failed in flow.on_crashed_hooks
