"""Driving flows from tests the way departments do: wait for a step, claim it, complete it."""

from __future__ import annotations

import contextvars
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select


@dataclass
class FlowThread:
    """A flow running in a background thread (it pauses at human steps)."""

    thread: threading.Thread
    box: dict[str, Any] = field(default_factory=dict)

    def result(self, timeout: float = 60) -> Any:
        """The flow's return value (re-raises its exception)."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the flow did not finish in time"
        if "error" in self.box:
            raise self.box["error"]
        return self.box["result"]


def start_flow(fn: Callable[..., Any], **params: Any) -> FlowThread:
    """Run ``fn(**params)`` in a thread with this thread's context (Prefect settings)."""
    box: dict[str, Any] = {}
    ctx = contextvars.copy_context()

    def run() -> None:
        try:
            box["result"] = ctx.run(fn, **params)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return FlowThread(thread, box)


class Departments:
    """The test's hands: find the waiting step of a process, answer it as a member."""

    def __init__(self, db: Any, business_key: str, flow: FlowThread | None = None) -> None:
        self.db, self.key, self.flow = db, business_key, flow

    def process_id(self, timeout: float = 30) -> int:
        from mktflow.store.tables import ProcessInstance

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.uow() as u:
                p = u.session.exec(select(ProcessInstance).where(
                    col(ProcessInstance.business_key) == self.key)).first()
                if p is not None:
                    assert p.id is not None
                    return p.id
            self._alive()
            time.sleep(0.05)
        raise AssertionError(f"no process {self.key}")

    def _alive(self) -> None:
        if self.flow is not None and not self.flow.thread.is_alive():
            err = self.flow.box.get("error")
            raise AssertionError(f"the flow ended early: {err!r} {self.flow.box.get('result')}")

    def step(self, step_key: str, timeout: float = 30) -> Any:
        """The work item of ``step_key`` once the flow has created it."""
        from mktflow.store.tables import WorkItem

        pid = self.process_id()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.db.uow() as u:
                item = u.session.exec(select(WorkItem).where(
                    col(WorkItem.process_id) == pid, col(WorkItem.step_key) == step_key)).first()
                if item is not None:
                    return item
            self._alive()
            time.sleep(0.05)
        raise AssertionError(f"{self.key}: step {step_key} never came")

    def answer(self, step_key: str, actor: str, data: dict[str, Any]) -> Any:
        """Claim the step if it is open, and complete it through the engine (CLI/API door)."""
        from mktflow.engine import work
        from mktflow.engine.steps import complete_step

        item = self.step(step_key)
        if item.state == "open":
            work.claim(self.db.uow(), item.id, actor_email=actor)
        return complete_step(self.db.uow(), item.id, actor_email=actor, data=data)

    def history(self) -> list[Any]:
        from mktflow.engine.queries import history

        return history(self.db.uow(), self.key)


def wait_paused(flow_run_id: str, key_prefix: str, timeout: float = 120) -> Any:
    """The flow run's state once it is paused on a key starting with ``key_prefix``."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(UUID(flow_run_id)).state
            if state is not None and state.is_paused() and (
                    state.state_details.pause_key or "").startswith(key_prefix):
                try:  # the paused client stores its input schema just after pausing
                    client.read_flow_run_input(UUID(flow_run_id),
                                               state.state_details.run_input_keyset["schema"])
                    return state
                except Exception:
                    pass
            time.sleep(0.1)
    raise AssertionError(f"{flow_run_id} never paused on {key_prefix}")


def ui_resume(flow_run_id: str, run_input: dict[str, Any]) -> None:
    """Resume a run the way the Prefect UI's form does: a raw POST of the form's values."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        response = client._client.post(f"/flow_runs/{flow_run_id}/resume",
                                       json={"run_input": run_input})
        response.raise_for_status()
        assert response.json()["status"] == "ACCEPT", response.json()


def flow_run_id_of(db: Any, business_key: str) -> str:
    """The flow run id a process instance is linked to."""
    from mktflow.store.tables import ProcessInstance

    with db.uow() as u:
        p = u.session.exec(select(ProcessInstance).where(
            col(ProcessInstance.business_key) == business_key)).first()
        assert p is not None and p.flow_run_id
        return p.flow_run_id


def steps_like(db: Any, process_key: str, prefix: str) -> list[Any]:
    """The work items of a process whose step key starts with ``prefix``, in id order."""
    from mktflow.store.tables import ProcessInstance, WorkItem

    with db.uow() as u:
        p = u.session.exec(select(ProcessInstance).where(
            col(ProcessInstance.business_key) == process_key)).one()
        return list(u.session.exec(select(WorkItem).where(
            col(WorkItem.process_id) == p.id, col(WorkItem.step_key).startswith(prefix))
            .order_by(col(WorkItem.id))))


def open_ui_link(link: str, *, page: bool = True) -> dict[str, Any]:
    """Open a Prefect UI flow-run link: the page loads and the API behind it has the run.

    ``page=False`` for the test harness's server, which serves the API but no UI.
    """
    import httpx

    found = re.fullmatch(r"(http://127\.0\.0\.1:\d+)/runs/flow-run/([0-9a-f-]{36})", link)
    assert found, link
    if page:
        html = httpx.get(link, headers={"Accept": "text/html"}, timeout=10)  # a browser
        assert html.status_code == 200 and "<title>Prefect" in html.text, (
            link, html.status_code, html.text[:300])
    run = httpx.get(f"{found[1]}/api/flow_runs/{found[2]}", timeout=10)
    assert run.status_code == 200, run.text
    flow_run: dict[str, Any] = run.json()
    assert flow_run["id"] == found[2]
    return flow_run
