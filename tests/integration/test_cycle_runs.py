"""Cycle runs on SQLite and PostgreSQL: skipped periods, carried items, re-runs, closing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mktflow.domain.errors import BadInput
from mktflow.engine import cycles, work
from mktflow.store.tables import ProcessInstance

SEED_000 = Path(__file__).parents[2] / "docs" / "examples" / "plan-seed-000.csv"


def test_runs_note_skipped_periods_and_carry_open_items(db: Any) -> None:
    first = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-07")
    assert (first.skipped_periods, first.carried, first.previous_period) == ([], [], None)
    cycles.finish_cycle(db.uow(), first.id, open_items=[{"ref": "H-1"}], summary={"n": 1})

    later = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-10",
                               flow_run_id="run-a")
    assert later.skipped_periods == ["2026-08", "2026-09"]
    assert later.carried == [{"ref": "H-1"}] and later.previous_period == "2026-07"

    again = cycles.begin_cycle(db.uow(), cycle="process-review", period="2026-10",
                               flow_run_id="run-b")  # a re-run: same row, nothing carried twice
    assert again.id == later.id and again.carried == [{"ref": "H-1"}]
    with db.uow() as u:
        process = u.session.get(ProcessInstance, again.process_id)
        assert process.flow_run_id == "run-b" and process.business_key == "process-review/2026-10"
    assert db.count("cyclerun") == 2


def test_a_run_ends_its_process_with_it_and_leaves_open_steps_in_their_queue(db: Any) -> None:
    run = cycles.begin_cycle(db.uow(), cycle="market-research", period="2026-09")
    [item] = cycles.assign_collection(db.uow(), run_id=run.id,
                                      assignments=[("market", "olga.petrova@example.com")],
                                      due_at=run.started_at, form_schema={"type": "object"})
    cycles.finish_cycle(db.uow(), run.id, open_items=[], summary={})
    with db.uow() as u:  # process list shows what the flow run did: it completed
        assert u.session.get(ProcessInstance, run.process_id).status == "completed"
    work.complete(db.uow(), item.id, actor_email="olga.petrova@example.com",
                  data={"summary": "x"})  # the step it left open is still answered as usual


@pytest.mark.parametrize(("cycle", "period", "message"), [
    ("process-review", "2026-Q3", "not a monthly period"),
    ("tea-break", "2026-10", "unknown cycle"),
])
def test_bad_cycle_or_period(db: Any, cycle: str, period: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        cycles.begin_cycle(db.uow(), cycle=cycle, period=period)
    assert db.count("cyclerun") == 0


def test_plan_balance_command(cli: Any, tmp_path: Path) -> None:
    result = cli("plan", "balance", str(SEED_000), "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert (data["total"], data["present"], data["future"]) == (30, 25, 5)
    assert data["future_share"] == 0.1667
    bad = tmp_path / "plan.yaml"
    bad.write_text("- {title: A, category: sales, horizon: later}\n")
    refused = cli("plan", "balance", str(bad))
    assert refused.exit_code == 2
    assert f"{bad} entry 1: field 'horizon'" in refused.stderr
