"""One step answered at two doors at once, on a real Prefect server (issue 20, item 5): one
answer wins, the first completion in mktflow's database; the other is on the step's record with
who gave it, when, at which door and what it said, and changes neither the winning answer nor
the draft.

Before the fix, a Prefect UI answer that Prefect accepted (the run resumed with it) but that a
CLI completion overtook left no trace at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mktflow.prefect.steps import StepForm
from tests.flows.support import Departments, flow_run_id_of, start_flow, ui_resume, wait_paused

pytestmark = pytest.mark.flows

OLGA = "olga.petrova@example.com"  # marketing specialist: answers at the command line
LINA = "li.na@example.com"  # marketing deputy: answers in the Prefect UI


class Plan(StepForm):
    """A plan with a budget."""

    budget: float
    note: str = "none"


def _flow() -> Any:
    from prefect import flow

    from mktflow.prefect import tasks
    from mktflow.prefect.steps import human_step

    @flow(name="one-answer-wins")
    def one_answer_wins(key: str) -> dict[str, Any]:
        """One step, answered at two doors."""
        pid = tasks.start_process("one-answer-wins", key, OLGA, {})
        answer = human_step(pid, "plan", department="marketing", title="Confirm the plan",
                            form=Plan, initial={"budget": 1000})
        tasks.finish_process(pid, "completed")
        return {"plan": answer.form.model_dump(), "by": answer.by}

    return one_answer_wins


@pytest.fixture
def slow_poll(flow_db: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The paused run looks for its resume every 10 s: a resume accepted by Prefect waits
    that long in Prefect before the flow reads it, as on a busy worker."""
    from tests.conftest import reset_caches

    monkeypatch.setenv("MKTFLOW_STEP_POLL_INTERVAL_S", "10")
    reset_caches()
    yield flow_db
    monkeypatch.setenv("MKTFLOW_STEP_POLL_INTERVAL_S", "0.2")
    reset_caches()


def _losers(d: Departments, ref: str) -> list[Any]:
    return [e for e in d.history() if e.item == ref and e.action == "comment"
            and "refused_answer" in (e.data or {})]


def test_prefect_accepts_the_ui_answer_first_then_the_cli_completes_first_in_mktflow(
        slow_poll: Any) -> None:
    key = f"OW-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(slow_poll, key, run)
    item = d.step("plan")
    fid = flow_run_id_of(slow_poll, key)
    wait_paused(fid, "plan")
    ui_resume(fid, {"budget": 2500.0, "note": "from the UI", "answered_by": LINA})  # ACCEPT
    done = d.answer("plan", OLGA, {"budget": 1800.0, "note": "from the CLI"})
    assert (done.state, done.completed_by) == ("done", OLGA)
    assert run.result(timeout=90) == {"plan": {"budget": 1800.0, "note": "from the CLI"},
                                      "by": OLGA}
    [loser] = _losers(d, f"W-{item.id}")
    assert loser.actor == "mktflow"
    assert loser.data["refused_answer"] == {
        "by": LINA, "door": "Prefect UI resume form", "at": None, "lost_to": OLGA,
        "data": {"budget": 2500.0, "note": "from the UI"}}
    assert LINA in loser.data["text"] and "already completed by" in loser.data["text"]
    step = d.step("plan")
    assert step.data == {"budget": 1800.0, "note": "from the CLI"}
    assert step.draft == item.draft == {"budget": 1000, "note": "none"}
    assert [e.action for e in d.history() if e.item == f"W-{item.id}"].count(
        "complete") == 1


def test_the_cli_completes_first_then_the_ui_answer_reaches_the_still_paused_run(
        flow_db: Any) -> None:
    """The CLI's hand-over has not reached the run yet (here: it never does) when the UI's
    answer resumes it: the flow finds the step done and keeps the UI's answer as the loser."""
    from mktflow.engine import work
    from mktflow.engine.steps import complete_step

    key = f"OW-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(flow_db, key, run)
    item = d.step("plan")
    fid = flow_run_id_of(flow_db, key)
    wait_paused(fid, "plan")
    work.claim(flow_db.uow(), item.id, actor_email=OLGA)
    complete_step(flow_db.uow(resumer=lambda *_: None), item.id, actor_email=OLGA,
                  data={"budget": 1500.0})
    ui_resume(fid, {"budget": 9999.0, "note": "late", "answered_by": LINA})
    assert run.result(timeout=60) == {"plan": {"budget": 1500.0, "note": "none"}, "by": OLGA}
    [loser] = _losers(d, f"W-{item.id}")
    assert loser.data["refused_answer"]["by"] == LINA
    assert loser.data["refused_answer"]["data"] == {"budget": 9999.0, "note": "late"}
    assert d.step("plan").data == {"budget": 1500.0, "note": "none"}


def test_an_answer_given_in_the_ui_alone_is_the_winner_not_a_loser(flow_db: Any) -> None:
    key = f"OW-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(flow_db, key, run)
    item = d.step("plan")
    fid = flow_run_id_of(flow_db, key)
    wait_paused(fid, "plan")
    ui_resume(fid, {"budget": 700.0, "note": "ui", "answered_by": LINA})
    assert run.result(timeout=60) == {"plan": {"budget": 700.0, "note": "ui"}, "by": LINA}
    assert _losers(d, f"W-{item.id}") == []

