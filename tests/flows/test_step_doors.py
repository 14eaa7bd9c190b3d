"""A human step as the Prefect UI shows it, on a real Prefect server: the resume form's
instructions sit in its first field, its pre-filled values are the step's draft (which the
CLI/API submit when no data is given), and a refused UI answer is logged in the run, reasoned
in the item's history and in the retry form, which keeps what was typed. A step that decides
something cannot be decided there by typing anyone's e-mail (issue 10, the Prefect UI door)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

import pytest

from mktflow.prefect.steps import StepForm
from tests.flows.support import Departments, flow_run_id_of, start_flow, ui_resume, wait_paused

pytestmark = pytest.mark.flows

MARKETING = "olga.petrova@example.com"
SUPPLY = "raj.patel@example.com"
HEAD = "ana.torres@example.com"  # marketing head: may decide what Olga submitted
TYPED = "typed in the Prefect UI form (not proven)"


class Plan(StepForm):
    """A small plan: enough fields to pre-fill."""

    budget: float
    channels: list[str]
    note: str = "none"


def _flow() -> Any:
    from prefect import flow

    from mktflow.prefect import tasks
    from mktflow.prefect.steps import human_step

    @flow(name="step-doors")
    def step_doors(key: str) -> dict[str, Any]:
        """One step with a draft, answered from some door."""
        pid = tasks.start_process("step-doors", key, MARKETING, {})
        answer = human_step(pid, "plan", department="marketing", title="Confirm the plan",
                            form=Plan, initial={"budget": 1200, "channels": ["radio"]})
        tasks.finish_process(pid, "completed")
        return {"plan": answer.form.model_dump(), "by": answer.by}

    return step_doors


def _form(flow_run_id: str, key_prefix: str) -> tuple[dict[str, Any], str]:
    """(JSON schema, pause description) of the form the UI shows for the run's pause."""
    from prefect.client.orchestration import get_client

    state = wait_paused(flow_run_id, key_prefix)
    keys = state.state_details.run_input_keyset
    with get_client(sync_client=True) as client:
        schema = client.read_flow_run_input(flow_run_id, keys["schema"])
        description = client.read_flow_run_input(flow_run_id, keys["description"])
    return json.loads(schema), description


def _defaults(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: p["default"] for k, p in schema["properties"].items() if "default" in p}


def _warnings(flow_run_id: str, timeout: float = 20) -> list[str]:
    """The run's WARNING log lines (the API log handler sends them in batches)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId, LogFilterLevel

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id]),
                                              level=LogFilterLevel(ge_=30)),
                                    limit=200, offset=0)
            if logs or time.monotonic() > deadline:
                return [log.message for log in logs]
            time.sleep(0.5)


def test_the_ui_form_shows_the_draft_and_the_instructions_and_the_cli_submits_it(
        flow_db: Any) -> None:
    from mktflow.engine import work
    from mktflow.engine.steps import complete_step

    key = f"SD-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(flow_db, key, run)
    item = d.step("plan")
    schema, description = _form(flow_run_id_of(flow_db, key), "plan")
    assert item.draft == {"budget": 1200, "channels": ["radio"], "note": "none"}
    assert {k: v for k, v in _defaults(schema).items() if k != "answered_by"} == item.draft
    assert next(iter(schema["properties"])) == "answered_by"  # the UI lists fields in order
    first = schema["properties"]["answered_by"]
    for words in (f"W-{item.id}: Confirm the plan", "Department **marketing**",
                  f"mktflow work complete W-{item.id}"):
        assert words in first["description"]
    assert f"W-{item.id}" in description
    work.claim(flow_db.uow(), item.id, actor_email=MARKETING)
    complete_step(flow_db.uow(), item.id, actor_email=MARKETING)  # no data: the draft
    assert run.result() == {"plan": item.draft, "by": MARKETING}


def test_a_refused_ui_answer_is_logged_reasoned_and_kept_in_the_retry_form(
        flow_db: Any) -> None:
    key = f"SD-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(flow_db, key, run)
    item = d.step("plan")
    fid = flow_run_id_of(flow_db, key)
    wait_paused(fid, "plan")
    typed = {"budget": 999.0, "channels": ["tv"], "note": "typed in the UI"}
    ui_resume(fid, {**typed, "answered_by": SUPPLY})  # supply is not marketing: refused
    schema, description = _form(fid, "plan-retry-1")
    refusal = [e for e in d.history() if e.action == "comment"][-1]
    reason = refusal.reason
    assert reason and "marketing" in reason and SUPPLY in refusal.data["text"]
    assert _defaults(schema) == {**typed, "answered_by": SUPPLY}
    # kept on record, never as the draft: a refused answer must not change what another
    # door submits (issue 20)
    assert d.step("plan").draft == item.draft
    assert refusal.data["refused_answer"] == {"by": SUPPLY, "door": "Prefect UI resume form",
                                                 "data": typed}
    assert f"**Your earlier answer was refused:** {reason}" in (
        schema["properties"]["answered_by"]["description"])
    assert "refused" in description
    warnings = _warnings(fid)
    assert any(f"W-{item.id}" in w and SUPPLY in w and reason in w for w in warnings), warnings
    ui_resume(fid, {**typed, "answered_by": MARKETING})
    assert run.result() == {"plan": typed, "by": MARKETING}
    # the history says the e-mail was typed, not proven (issue 19, item 9)
    assert [(e.actor, e.action, e.identified_by) for e in d.history()
            if e.item == f"W-{item.id}" and e.action in ("claim", "complete")] == [
        (MARKETING, "claim", TYPED), (MARKETING, "complete", TYPED)]


class Decision(StepForm):
    """A decision on what Olga submitted (four eyes: she may not decide it)."""

    decision: Literal["approve", "reject"]


def _deciding_flow() -> Any:
    from prefect import flow

    from mktflow.prefect import tasks
    from mktflow.prefect.steps import human_step

    @flow(name="step-doors-decision")
    def step_doors_decision(key: str) -> dict[str, Any]:
        """One four-eyes decision, answered from some door."""
        pid = tasks.start_process("step-doors", key, MARKETING, {})
        answer = human_step(pid, "decide", department="marketing", title="Decide the plan",
                            form=Decision, excluded=[MARKETING])
        tasks.finish_process(pid, "completed")
        return {"decision": answer.form.decision, "by": answer.by}

    return step_doors_decision


def test_a_decision_cannot_be_decided_in_the_ui_by_typing_an_email(flow_db: Any) -> None:
    key = f"SD-{uuid.uuid4().hex[:8]}"
    run = start_flow(_deciding_flow(), key=key)
    d = Departments(flow_db, key, run)
    item = d.step("decide")
    fid = flow_run_id_of(flow_db, key)
    schema, _description = _form(fid, "decide")
    said = schema["properties"]["answered_by"]["description"]
    assert "cannot be answered here" in said and f"/work/{item.id}" in said
    # the head's own e-mail, typed in the UI: not proof, so refused and recorded
    ui_resume(fid, {"decision": "approve", "answered_by": HEAD})
    _form(fid, "decide-retry-1")
    refusal = [e for e in d.history() if e.action == "comment"][-1]
    assert "typed, not proven" in refusal.reason and HEAD in refusal.data["text"]
    step = d.step("decide")
    assert (step.state, step.assignee_email, step.completed_by) == ("open", None, None)
    # the same head through a door that proves who she is: decided
    d.answer("decide", HEAD, {"decision": "approve"})
    assert run.result() == {"decision": "approve", "by": HEAD}


def _messages(flow_run_id: str, needle: str, timeout: float = 20) -> list[str]:
    """The run's log lines holding ``needle`` (the API log handler sends them in batches)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                                    limit=200, offset=0)
            found = [log.message for log in logs if needle in log.message]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


def test_a_waiting_runs_log_names_the_step_its_department_and_holder(flow_db: Any) -> None:
    """Issue 21: not only "Suspending flow run" / "Pausing flow": which step, where, held by
    whom, and where to act."""
    from mktflow.config import get_settings
    from mktflow.engine import work
    from mktflow.engine.steps import complete_step

    key = f"SD-{uuid.uuid4().hex[:8]}"
    run = start_flow(_flow(), key=key)
    d = Departments(flow_db, key, run)
    item = d.step("plan")
    flow_run_id = flow_run_id_of(flow_db, key)
    wait_paused(flow_run_id, "plan")
    api = get_settings().api_url.rstrip("/")
    assert _messages(flow_run_id, "waiting on") == [
        f"waiting on W-{item.id} 'Confirm the plan' in marketing, held by nobody (in the "
        f"marketing queue); act at {api}/work/{item.id}"]
    work.claim(flow_db.uow(), item.id, actor_email=MARKETING)
    complete_step(flow_db.uow(), item.id, actor_email=MARKETING, data={})
    assert run.result()["by"] == MARKETING
